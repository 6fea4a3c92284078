// <livetrace-run server="…" trace-id="…">: a compact live view of one run for end users,
// built on livetrace/client. Everything from the trace is written with textContent, never
// parsed as HTML, so hostile labels, outputs and logs stay inert. The token is a property
// only: an attribute would sit in the page's markup for anyone to read.
import { openTrace, type LiveTrace, type LiveStatus } from '../client/live-trace.js';
import type { TraceState } from '../core/reducer.js';
import type { LogEntry, NodeData } from '../core/types.js';
import { LogIndex } from '../client/log-index.js';
import { STYLES } from './styles.js';
import { previewText, timelineOf, type Row } from './timeline.js';
import { jsonText } from '../core/json-text.js';

// Importing this module outside a browser (SSR, tests) must not throw.
const Base = (typeof HTMLElement === 'undefined' ? class {} : HTMLElement) as typeof HTMLElement;

const STATUS_TEXT: Record<string, string> = {
  pending: 'waiting',
  running: 'running',
  completed: 'done',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'cancelled',
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function pretty(v: unknown): string {
  return typeof v === 'string' ? v : jsonText(v, 2);
}

/** One step's DOM, kept across renders so focus, open details and animations survive updates. */
class StepView {
  readonly root = el('li', 'step');
  readonly #button = el('button');
  readonly #icon = el('span', 'icon');
  readonly #status = el('span', 'sr');
  readonly #label = el('span', 'label');
  readonly #time = el('span', 'time muted');
  readonly #preview = el('span', 'preview muted');
  readonly #detail = el('div', 'detail');
  #open = false;
  #node: NodeData | undefined;

  constructor(
    readonly id: string,
    private readonly host: LivetraceRun,
  ) {
    this.root.setAttribute('part', 'step');
    this.root.setAttribute('role', 'listitem');
    this.#button.type = 'button';
    this.#button.setAttribute('part', 'step-button');
    this.#button.setAttribute('aria-expanded', 'false');
    this.#detail.id = `lt-detail-${id}`;
    this.#detail.setAttribute('part', 'detail');
    this.#detail.hidden = true;
    this.#button.setAttribute('aria-controls', this.#detail.id);
    this.#icon.setAttribute('aria-hidden', 'true');
    this.#preview.setAttribute('part', 'preview');
    this.#button.append(this.#icon, this.#label, this.#time, this.#preview);
    this.#label.prepend(this.#status);
    this.root.append(this.#button, this.#detail);
    this.#button.addEventListener('click', () => this.toggle());
  }

  toggle(): void {
    this.#open = !this.#open;
    this.#button.setAttribute('aria-expanded', String(this.#open));
    this.#detail.hidden = !this.#open;
    if (this.#open && this.#node) this.#fillDetail(this.#node);
  }

  update(node: NodeData, now: number): void {
    this.#node = node;
    this.root.dataset.status = node.status;
    this.#status.textContent = `${STATUS_TEXT[node.status] ?? node.status}: `;
    const label = node.label ?? node.id;
    if (this.#label.lastChild?.nodeType === 3) this.#label.lastChild.textContent = label;
    else this.#label.append(document.createTextNode(label));
    const start = node.start_time ?? node.created_at;
    this.#time.textContent = formatDuration((node.end_time ?? now) - start);
    const preview = node.status === 'failed' ? (node.error?.message ?? 'failed') : previewText(node.output);
    this.#preview.textContent = preview;
    this.#preview.hidden = preview === '';
    if (this.#open) this.#fillDetail(node);
  }

  #fillDetail(node: NodeData): void {
    const parts: HTMLElement[] = [];
    const section = (title: string, body: string) => {
      parts.push(el('h4', 'muted', title), el('pre', undefined, body));
    };
    if (node.description) section('About', node.description);
    if (node.input !== undefined) section('Input', pretty(node.input));
    if (node.output !== undefined) section('Output', pretty(node.output));
    if (node.error) section('Error', node.error.message ?? pretty(node.error));
    const logs = this.host.logsOf(node.id);
    if (logs.length > 0)
      section(
        'Log',
        logs
          .slice(-20)
          .map((l) => `${l.level}: ${l.message}`)
          .join('\n'),
      );
    if (parts.length === 0) parts.push(el('span', 'muted', 'No details yet.'));
    this.#detail.replaceChildren(...parts);
  }
}

export class LivetraceRun extends Base {
  static get observedAttributes(): string[] {
    return ['server', 'trace-id', 'api-path'];
  }

  #token: string | undefined;
  #live: LiveTrace | undefined;
  #off: (() => void) | undefined;
  #frame = 0;
  readonly #views = new Map<string, StepView>();
  readonly #groups = new Map<string, HTMLElement>();
  #tick: ReturnType<typeof setTimeout> | undefined;
  #shadow: ShadowRoot | undefined;
  #dom:
    | {
        title: HTMLElement;
        badge: HTMLElement;
        time: HTMLElement;
        list: HTMLOListElement;
        answer: HTMLElement;
        answerText: HTMLElement;
        notice: HTMLElement;
      }
    | undefined;
  #logIndex = new LogIndex();

  /** The bearer token for a server started with `--tokens`. Set it as a property, never an attribute. */
  get token(): string | undefined {
    return this.#token;
  }
  set token(value: string | undefined) {
    if (value === this.#token) return;
    this.#token = value || undefined;
    if (this.isConnected) this.#open();
  }

  /** The live trace being shown (state, status, stats), or undefined before it is connected. */
  get trace(): LiveTrace | undefined {
    return this.#live;
  }

  get status(): LiveStatus | 'idle' {
    return this.#live?.status ?? 'idle';
  }

  connectedCallback(): void {
    // A token set on the element before it was defined sits on the instance and hides the
    // accessor: move it behind the accessor.
    if (Object.prototype.hasOwnProperty.call(this, 'token')) {
      const value = (this as { token?: string }).token;
      delete (this as { token?: string }).token;
      this.#token = value || undefined;
    }
    this.#build();
    this.#open();
  }

  disconnectedCallback(): void {
    this.#close();
  }

  attributeChangedCallback(_name: string, oldValue: string | null, newValue: string | null): void {
    if (oldValue !== newValue && this.isConnected) this.#open();
  }

  /** Logs of one node, indexed once as they arrive. */
  logsOf(nodeId: string): readonly LogEntry[] {
    return this.#logIndex.of(this.#live?.state.logs ?? [], nodeId);
  }

  #build(): void {
    if (this.#shadow) return;
    const shadow = this.attachShadow({ mode: 'open' });
    this.#shadow = shadow;
    const style = el('style');
    style.textContent = STYLES;
    const region = el('section');
    region.setAttribute('part', 'run');
    region.setAttribute('role', 'region');
    region.setAttribute('aria-label', 'Agent run');
    const header = el('header');
    header.setAttribute('part', 'header');
    const title = el('span', 'title');
    title.setAttribute('part', 'title');
    const badge = el('span', 'badge');
    badge.setAttribute('part', 'status');
    badge.setAttribute('role', 'status');
    const time = el('span', 'time muted');
    header.append(title, time, badge);
    const list = el('ol', 'timeline');
    list.setAttribute('part', 'timeline');
    list.setAttribute('role', 'list');
    list.setAttribute('aria-label', 'Steps');
    const answer = el('div', 'answer');
    answer.setAttribute('part', 'answer');
    answer.setAttribute('role', 'status');
    answer.hidden = true;
    const answerText = el('div');
    answer.append(el('h3', 'muted', 'Answer'), answerText);
    const notice = el('div', 'notice muted');
    notice.setAttribute('part', 'notice');
    notice.setAttribute('aria-live', 'polite');
    region.append(header, list, answer, notice);
    shadow.append(style, region);
    this.#dom = { title, badge, time, list, answer, answerText, notice };
  }

  #open(): void {
    this.#close();
    const server = this.getAttribute('server');
    const traceId = this.getAttribute('trace-id');
    if (!server || !traceId) return;
    this.#views.clear();
    this.#groups.clear();
    this.#dom?.list.replaceChildren();
    this.#logIndex = new LogIndex();
    const apiPath = this.getAttribute('api-path') ?? undefined;
    const live = openTrace({ server, traceId, apiPath, token: () => this.#token });
    this.#live = live;
    let lastStatus = live.status;
    this.#off = live.subscribe(() => {
      if (live.status !== lastStatus) {
        lastStatus = live.status;
        this.dispatchEvent(new CustomEvent('livetrace-status', { detail: { status: live.status } }));
        if (live.status === 'ended')
          this.dispatchEvent(new CustomEvent('livetrace-end', { detail: { state: live.state } }));
      }
      this.#schedule();
    });
    this.#schedule();
  }

  #close(): void {
    this.#off?.();
    this.#off = undefined;
    this.#live?.close();
    this.#live = undefined;
    if (this.#frame) cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    clearTimeout(this.#tick);
    this.#tick = undefined;
  }

  /** At most one render per animation frame, however fast events arrive. */
  #schedule(): void {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#render();
    });
  }

  #render(): void {
    const live = this.#live;
    const dom = this.#dom;
    if (!live || !dom) return;
    const state = live.state;
    const now = Date.now();
    const info = state.info;
    const root = state.root === undefined ? undefined : state.nodes.get(state.root);
    dom.title.textContent = info.agent_name ?? root?.label ?? 'Run';
    const traceStatus = state.last_seq === 0 ? 'pending' : info.status;
    dom.badge.dataset.status = traceStatus;
    dom.badge.textContent = STATUS_TEXT[traceStatus] ?? traceStatus;
    const started = root?.start_time ?? (info.created_at || undefined);
    dom.time.textContent =
      started === undefined
        ? ''
        : formatDuration((info.ended_at ?? (traceStatus === 'running' ? now : info.updated_at)) - started);

    const timeline = timelineOf(state);
    this.#renderRows(dom.list, timeline.rows, now);
    dom.answer.hidden = !timeline.hasAnswer;
    dom.answerText.textContent = timeline.hasAnswer ? previewText(timeline.answer, 4000) : '';
    this.#renderNotice(dom.notice, live.status, live.error?.message, state);
    // Running steps' durations tick while nothing else happens.
    if (this.#tick === undefined && live.status !== 'ended' && live.status !== 'error' && traceStatus === 'running') {
      this.#tick = setTimeout(() => {
        this.#tick = undefined;
        this.#schedule();
      }, 1000);
    }
  }

  #renderNotice(notice: HTMLElement, status: LiveStatus, error: string | undefined, state: TraceState): void {
    notice.dataset.kind = status === 'error' ? 'error' : 'info';
    notice.textContent =
      status === 'error'
        ? `Cannot show this run: ${error ?? 'error'}`
        : status === 'reconnecting'
          ? 'Connection lost, reconnecting…'
          : status === 'connecting' && state.last_seq === 0
            ? 'Connecting…'
            : '';
  }

  #view(node: NodeData, now: number): HTMLElement {
    let v = this.#views.get(node.id);
    if (!v) this.#views.set(node.id, (v = new StepView(node.id, this)));
    v.update(node, now);
    return v.root;
  }

  #renderRows(list: HTMLOListElement, rows: Row[], now: number): void {
    const items: HTMLElement[] = [];
    for (const row of rows) {
      if (row.type === 'step') {
        items.push(this.#view(row.node, now));
        continue;
      }
      const key = `p:${row.branches[0]![0]!.id}`;
      let li = this.#groups.get(key);
      if (!li) {
        li = el('li', 'parallel');
        this.#groups.set(key, li);
        li.setAttribute('part', 'parallel');
        li.setAttribute('role', 'listitem');
        li.append(el('div', 'caption muted'), el('div', 'branches'));
      }
      const running = row.branches.filter((b) => b.some((n) => n.status === 'running')).length;
      li.firstElementChild!.textContent = `In parallel: ${row.branches.length} steps${running ? `, ${running} running` : ''}`;
      const branches = li.lastElementChild as HTMLElement;
      const cols = row.branches.map((b, i) => {
        let ol = branches.children[i] as HTMLOListElement | undefined;
        if (!ol) {
          ol = el('ol', 'branch');
          ol.setAttribute('role', 'list');
          ol.setAttribute('part', 'branch');
        }
        place(
          ol,
          b.map((n) => this.#view(n, now)),
        );
        return ol;
      });
      place(branches, cols);
      items.push(li);
    }
    place(list, items);
  }
}

/** Makes `parent`'s children exactly `items`, moving only what is out of place. */
function place(parent: HTMLElement, items: HTMLElement[]): void {
  items.forEach((item, i) => {
    if (parent.children[i] !== item) parent.insertBefore(item, parent.children[i] ?? null);
  });
  while (parent.children.length > items.length) parent.lastElementChild!.remove();
}
