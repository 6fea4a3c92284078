// Log lines of a node or of the whole trace: level filter, text filter, virtualized rows,
// the selected line's data shown as JSON below.
import { useMemo, useState } from 'preact/hooks';
import type { LogEntry, LogLevel, NodeData } from '../../src/core/types.js';
import { formatTime, preview } from './format.js';
import { Highlight, JsonView } from './json-view.js';
import { VirtualList } from './virtual-list.js';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface LogsViewProps {
  logs: readonly LogEntry[];
  /** Set for the trace-wide view: shows which node logged and links to it. */
  nodes?: ReadonlyMap<string, NodeData>;
  onSelectNode?: (id: string) => void;
}

/** `logs` must be a new array when lines were added (LiveTrace gives one per frame). */
export function LogsView({ logs, nodes, onSelectNode }: LogsViewProps) {
  const [levels, setLevels] = useState<ReadonlySet<LogLevel>>(new Set(LEVELS));
  const [text, setText] = useState('');
  const [selected, setSelected] = useState<number | undefined>();
  const q = text.trim().toLowerCase();
  const counts = useMemo(() => {
    const c: Record<string, number> = { debug: 0, info: 0, warn: 0, error: 0 };
    for (const l of logs) c[l.level] = (c[l.level] ?? 0) + 1;
    return c;
  }, [logs]);
  const shown = useMemo(() => {
    if (levels.size === LEVELS.length && !q) return logs;
    return logs.filter(
      (l) =>
        levels.has(l.level) &&
        (!q ||
          l.message.toLowerCase().includes(q) ||
          (l.data !== undefined && preview(l.data, 10_000).toLowerCase().includes(q))),
    );
  }, [logs, levels, q]);
  const sel = selected === undefined ? undefined : logs.find((l) => l.seq === selected);
  const toggle = (lv: LogLevel) => {
    const next = new Set(levels);
    if (next.has(lv)) next.delete(lv);
    else next.add(lv);
    setLevels(next);
  };
  return (
    <div class="logs">
      <div class="logs-bar">
        {LEVELS.map((lv) => (
          <button
            key={lv}
            class={`chip lvl-${lv} ${levels.has(lv) ? 'on' : ''}`}
            aria-pressed={levels.has(lv)}
            onClick={() => toggle(lv)}
            title={`Show ${lv} lines`}
          >
            {lv} <span class="count">{counts[lv]}</span>
          </button>
        ))}
        <input
          class="input small grow"
          type="search"
          placeholder="Filter logs…"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          aria-label="Filter logs"
        />
      </div>
      {shown.length === 0 ? (
        <div class="empty small">{logs.length === 0 ? 'No logs.' : 'No log line matches.'}</div>
      ) : (
        <VirtualList
          class="logs-list"
          count={shown.length}
          rowHeight={24}
          followTail
          ariaLabel="Log lines"
          renderRow={(i) => {
            const l = shown[i]!;
            const node = nodes && l.node_id ? nodes.get(l.node_id) : undefined;
            return (
              <div
                class={`log-row lvl-${l.level} ${selected === l.seq ? 'selected' : ''}`}
                onClick={() => setSelected(selected === l.seq ? undefined : l.seq)}
                title={l.message}
              >
                <span class="log-time">{formatTime(l.timestamp)}</span>
                <span class={`log-level lvl-${l.level}`}>{l.level}</span>
                {nodes ? (
                  <button
                    class="log-node link"
                    onClick={(e) => {
                      e.stopPropagation();
                      if (l.node_id) onSelectNode?.(l.node_id);
                    }}
                  >
                    {node?.label ?? l.node_id ?? 'trace'}
                  </button>
                ) : null}
                <span class="log-msg">
                  <Highlight text={l.message} q={q} />
                </span>
                {l.data !== undefined ? <span class="log-data">{preview(l.data, 160)}</span> : null}
              </div>
            );
          }}
        />
      )}
      {sel ? (
        <div class="log-detail">
          <div class="log-detail-head">
            <span class={`log-level lvl-${sel.level}`}>{sel.level}</span> {formatTime(sel.timestamp)} · seq {sel.seq}
            <button class="link small right" onClick={() => setSelected(undefined)}>
              close
            </button>
          </div>
          <div class="log-detail-msg">{sel.message}</div>
          {sel.data !== undefined ? <JsonView value={sel.data} /> : null}
        </div>
      ) : null}
    </div>
  );
}
