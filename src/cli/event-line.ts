// `livetrace tail`: one line per event. Labels come from the shared reducer's state, fed
// with the same events, so the tail never interprets events on its own.
import { applyEvent, initialState, type TraceState } from '../core/reducer.js';
import { withData, type EventNode } from '../core/events.js';
import type { TraceEvent } from '../core/types.js';
import { formatClock, formatDuration, oneLine, paintStatus, type Colors } from './output.js';

export class EventPrinter {
  readonly #state: TraceState;
  readonly #c: Colors;
  #start: number | undefined;

  constructor(traceId: string, colors: Colors) {
    this.#state = initialState(traceId);
    this.#c = colors;
  }

  get state(): TraceState {
    return this.#state;
  }

  /** Applies the event to the state and returns its line. */
  line(ev: TraceEvent): string {
    applyEvent(this.#state, ev);
    this.#start ??= ev.timestamp;
    const c = this.#c;
    const label = (id: string | undefined): string => {
      const n = id === undefined ? undefined : this.#state.nodes.get(id);
      return n ? `${n.icon ? n.icon + ' ' : ''}${n.label ?? n.id}` : String(id ?? '?');
    };
    const space = (id: string | undefined): string => {
      const s = id === undefined ? undefined : this.#state.spaces.get(id);
      return s?.id ?? String(id ?? '?');
    };
    let text: string;
    const { type, data: d } = withData(ev);
    switch (type) {
      case 'init':
        text = `● trace ${ev.trace_id}${d.agent_name ? ` (${d.agent_name})` : ''}`;
        break;
      case 'node_start': {
        const nodes: EventNode[] = Array.isArray(d.nodes) ? d.nodes : d.node ? [d.node] : [];
        text = `${c.cyan('▶')} ${nodes.map((n) => label(n.id)).join(', ')}${nodes.length > 1 ? c.dim(' (parallel)') : ''}`;
        const joins = nodes.find((n) => n.parent_ids?.length > 1);
        if (joins) text += c.magenta(` ⋈ joins ${joins.parent_ids.map((p) => label(p)).join(', ')}`);
        break;
      }
      case 'node_updated': {
        const n: EventNode | undefined = d.node;
        text = `${c.dim('~')} ${label(n?.id ?? ev.node_id)}${n?.output !== undefined ? c.dim(` output ${oneLine(n.output, 70)}`) : ''}`;
        break;
      }
      case 'node_complete':
        text = `${c.green('✔')} ${label(d.node_id ?? ev.node_id)}  ${c.dim(formatDuration(d.duration))}`;
        break;
      case 'node_failed':
        text = `${paintStatus(c, d.status === 'cancelled' ? 'cancelled' : 'failed', d.status === 'cancelled' ? '⊘' : '✖')} ${label(d.node_id ?? ev.node_id)}  ${c.red(d.error?.message ?? String(d.status))}`;
        break;
      case 'log_added': {
        const lvl = String(d.level);
        const painted = lvl === 'error' ? c.red(lvl) : lvl === 'warn' ? c.yellow(lvl) : c.dim(lvl);
        text = `  ${c.dim('[' + label(d.node_id ?? ev.node_id) + ']')} ${painted} ${d.message}${d.data !== undefined ? c.dim(' ' + oneLine(d.data, 60)) : ''}`;
        break;
      }
      case 'space_created':
        text = `${c.blue('+')} space ${d.label ?? d.id}`;
        break;
      case 'space_deleted':
        text = `${c.blue('-')} space ${space(d.space_id)}`;
        break;
      case 'memory_add':
      case 'memory_update':
        text = `  ${c.blue(`${space(d.type ?? ev.space_id)}.${d.item?.id}`)} = ${oneLine(d.item?.content, 70)}`;
        break;
      case 'memory_delete':
        text = `  ${c.blue(`${space(d.space_id ?? ev.space_id)}${d.key !== undefined ? '.' + d.key : ''}`)} ${d.cleared ? 'cleared' : 'deleted'}`;
        break;
      case 'complete':
        text = `${paintStatus(c, d.status, '■')} trace ${paintStatus(c, d.status)} in ${formatDuration(d.total_duration)}`;
        break;
      default:
        // A type this version does not know (a newer writer).
        text = String(type);
    }
    const rel = `+${((ev.timestamp - this.#start) / 1000).toFixed(2)}s`;
    return `${c.dim(formatClock(ev.timestamp))} ${c.dim(rel.padStart(8))}  ${text}`;
  }
}
