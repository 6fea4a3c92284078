// The trace page's keyboard help dialog (opened with ?, closed with Esc or a click outside).
export function ShortcutHelp({ onClose }: { onClose: () => void }) {
  return (
    <div class="overlay" onClick={onClose}>
      <div class="dialog" onClick={(e) => e.stopPropagation()} role="dialog" aria-label="Keyboard shortcuts">
        <h2>Keyboard</h2>
        <dl class="keys">
          <dt>← ↑ → ↓ / h j k l</dt>
          <dd>move between nodes (parent, child, neighbours)</dd>
          <dt>Enter / c</dt>
          <dd>collapse or expand the selected subtree</dd>
          <dt>g / t</dt>
          <dd>graph / timeline</dd>
          <dt>/</dt>
          <dd>filter nodes</dd>
          <dt>+ / − / 0</dt>
          <dd>zoom the graph in, out, to fit</dd>
          <dt>f</dt>
          <dd>follow the newest node</dd>
          <dt>Esc</dt>
          <dd>close details, then back to the list</dd>
        </dl>
      </div>
    </div>
  );
}
