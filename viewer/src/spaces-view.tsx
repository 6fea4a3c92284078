// Memory spaces: each space's keys and values as they change; the most recently written
// key of each space (the latest memory event) is highlighted and flashes on change.
import { useState } from 'preact/hooks';
import type { SpaceData } from '../../src/core/types.js';
import { formatTime, preview } from './format.js';
import { JsonView } from './json-view.js';
import type { SpaceChange } from './use-trace.js';

const MAX_KEYS = 500;

interface Row {
  id: string;
  content: unknown;
  title: string | undefined;
  timestamp: number | undefined;
}

function SpaceCard({ space, change }: { space: SpaceData; change: SpaceChange | undefined }) {
  const [open, setOpen] = useState<string | undefined>();
  const [showAll, setShowAll] = useState(false);
  // `data` is key -> value; `items` holds each key's title and time beside it.
  const items: Row[] = Object.keys(space.data).map((id) => ({
    id,
    content: space.data[id],
    title: space.items?.[id]?.title,
    timestamp: space.items?.[id]?.timestamp,
  }));
  const lastKey = change && !change.removed ? change.key : undefined;
  const lastSeq = change?.seq ?? 0;
  const shown = showAll ? items : items.slice(0, MAX_KEYS);
  return (
    <section class="space" data-space-id={space.id}>
      <header class="space-head">
        <span class="space-title">
          {space.icon ? <span class="space-icon">{space.icon}</span> : null}
          {space.label ?? space.id}
        </span>
        <span class="muted small">
          {items.length} key{items.length === 1 ? '' : 's'} · {space.id}
        </span>
      </header>
      {space.description ? <p class="muted small space-desc">{space.description}</p> : null}
      {change?.removed ? (
        <p class="space-removed small" key={change.seq}>
          {change.removed === 'cleared'
            ? 'Last change: all keys cleared'
            : `Last change: key “${change.key ?? ''}” deleted`}
        </p>
      ) : null}
      {items.length === 0 ? (
        <div class="empty small">Empty.</div>
      ) : (
        <table class="kv">
          <tbody>
            {shown.map((it) => {
              const changed = lastKey !== undefined && it.id === lastKey;
              return [
                <tr
                  key={`${it.id}:${changed ? lastSeq : 0}`}
                  class={`kv-row ${changed ? 'changed' : ''} ${open === it.id ? 'open' : ''}`}
                  onClick={() => setOpen(open === it.id ? undefined : it.id)}
                  title={changed ? 'Last change in this space' : undefined}
                >
                  <td class="kv-key">{it.title ?? it.id}</td>
                  <td class="kv-val">{preview(it.content, 200)}</td>
                  <td class="kv-time">{formatTime(it.timestamp)}</td>
                </tr>,
                open === it.id ? (
                  <tr key={`${it.id}:json`} class="kv-json">
                    <td colSpan={3}>
                      <JsonView value={it.content} />
                    </td>
                  </tr>
                ) : null,
              ];
            })}
          </tbody>
        </table>
      )}
      {!showAll && items.length > MAX_KEYS ? (
        <button class="link small" onClick={() => setShowAll(true)}>
          show all {items.length} keys
        </button>
      ) : null}
    </section>
  );
}

export interface SpacesViewProps {
  spaces: ReadonlyMap<string, SpaceData>;
  lastChange: ReadonlyMap<string, SpaceChange>;
}

export function SpacesView({ spaces, lastChange }: SpacesViewProps) {
  if (spaces.size === 0) return <div class="empty">This trace has no memory spaces yet.</div>;
  return (
    <div class="spaces">
      {[...spaces.values()].map((s) => (
        <SpaceCard key={s.id} space={s} change={lastChange.get(s.id)} />
      ))}
    </div>
  );
}
