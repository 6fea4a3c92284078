// The search index of a FileStore: `search.jsonl` at the store's root, beside the listing
// index (list-index.ts), built the same way (jsonl-file.ts: records appended with one
// write each, a torn record skipped, read by every process sharing the folder from the
// bytes past what it has consumed). Records:
//
//   {"id", "q": seq, "w": [words]}   words of events up to seq new to the trace (core/search.ts)
//   {"id", "f": {...}}               the trace's facets and sort values (the one of the latest info counts)
//   {"id", "rm": 1}                  the trace was removed
//
// Loaded, it is a TextIndex (word -> ids) and a facet map, so a search reads no event
// log. Writing: each batch's words and facets are applied in memory at once (this
// process's searches see them) and buffered; the buffer is appended every FLUSH_MS, and at
// once when a trace ends (before its final listing record), is released, or the store
// closes. Appends are synchronous (jsonl-file.ts): the trace's append waits for them. A
// crash can lose the buffer: opening the index therefore re-reads, from the log past the
// last indexed seq, every trace the listing shows as running, that the index lacks, or
// whose words lag its facets (see record()); a missing index is rebuilt from every log.
import { promises as fsp } from 'node:fs';
import { isActive } from '../../core/status.js';
import {
  batchTokens,
  costOf,
  durationOf,
  matchesPlan,
  metaFacets,
  tokensOf,
  type SearchPlan,
} from '../../core/search.js';
import type { ListQuery, ListResult, NodeKind, TraceEvent, TraceInfo } from '../../core/types.js';
import { NODE_KIND_SET } from '../../core/rollup.js';
import {
  afterPos,
  comparePos,
  decodeSortCursor,
  listLimit,
  matchesQuery,
  toSortedPage,
  type SortPos,
} from '../store.js';
import { SeenWords, TextIndex } from '../text-index.js';
import type { IndexEntry } from './list-index.js';
import { JsonlFile } from './jsonl-file.js';
import { traceFiles, type FileLayout } from './layout.js';
import type { LogReader } from './log-reader.js';
import { join } from 'node:path';

const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const FLUSH_MS = 100;
/** Events read at a time when the index is repaired from a log. */
const REPAIR_PAGE = 2000;

/** What the non-text filters and the sorts need of a trace. */
interface Facets {
  /**
   * The last seq of the info they come from. A record with a lower one is older news and
   * is ignored: a reader repairing from a lagging info.json must not override what the
   * writer recorded from a later batch, whatever order the records reach the file in.
   */
  v?: number;
  ss?: string;
  us?: string;
  k: string[];
  m: string[];
  /** metaFacets() */
  mt: string[];
  du: number;
  tk: number;
  co: number;
  /** 1: the trace had ended (its facets change when it ends, so that batch appends them). */
  e?: 1;
}

type SearchRecord = { id: string; q?: number; w: string[] } | { id: string; f: Facets } | { id: string; rm: 1 };

function facetsOf(info: TraceInfo): Facets {
  const f: Facets = {
    k: Array.isArray(info.kinds) ? info.kinds.filter((k) => typeof k === 'string') : [],
    m: Array.isArray(info.models) ? info.models.filter((m) => typeof m === 'string') : [],
    mt: metaFacets(info),
    du: durationOf(info),
    tk: tokensOf(info),
    co: costOf(info),
  };
  if (typeof info.last_seq === 'number') f.v = info.last_seq;
  if (typeof info.session_id === 'string') f.ss = info.session_id;
  if (typeof info.user_id === 'string') f.us = info.user_id;
  if (!isActive(info.status)) f.e = 1;
  return f;
}

/** The facets as a TraceInfo-shaped object, for matchesPlan. */
function asInfo(e: IndexEntry, f: Facets): TraceInfo {
  const info: TraceInfo = {
    id: e.id,
    status: e.s,
    created_at: e.c,
    updated_at: e.c,
    archived: e.a === 1,
    kinds: f.k.filter((k): k is NodeKind => NODE_KIND_SET.has(k)),
    models: f.m,
    usage: {
      input_tokens: 0,
      output_tokens: 0,
      total_tokens: f.tk,
      llm_calls: 0,
      tool_calls: 0,
      failed_nodes: 0,
      ...(f.co >= 0 ? { cost: { amount: f.co, currency: '' } } : {}),
    },
    metadata: Object.fromEntries(f.mt.map((m) => JSON.parse(m) as [string, string])),
  };
  if (f.du >= 0) info.duration = f.du;
  if (e.by !== undefined) info.created_by = e.by;
  if (e.tm !== undefined) info.team_id = e.tm;
  if (e.tn !== undefined) info.tenant_id = e.tn;
  if (f.ss !== undefined) info.session_id = f.ss;
  if (f.us !== undefined) info.user_id = f.us;
  return info;
}

/**
 * Same values, whatever info they were read from (`v` aside): a running trace's batches
 * mostly leave its facets alone and then append no facet record.
 */
function sameFacets(a: Facets | undefined, b: Facets): boolean {
  return a !== undefined && JSON.stringify({ ...a, v: 0 }) === JSON.stringify({ ...b, v: 0 });
}

export class SearchIndex {
  readonly path: string;
  readonly #layout: FileLayout;
  readonly #file: JsonlFile<SearchRecord>;
  /** The store's ranged log reader (repairs read logs through it, a page at a time). */
  readonly #reader: LogReader;
  readonly #text = new TextIndex();
  readonly #facets = new Map<string, Facets>();
  /** id -> last seq whose words are indexed. */
  readonly #seq = new Map<string, number>();
  readonly #seen = new SeenWords();
  /** Records applied here but not yet appended to the file. */
  #buffer: SearchRecord[] = [];
  #timer: NodeJS.Timeout | undefined;
  #loaded: Promise<void> | undefined;

  constructor(layout: FileLayout, fileMode: number, reader: LogReader) {
    this.#layout = layout;
    this.#reader = reader;
    this.path = join(layout.root, 'search.jsonl');
    this.#file = new JsonlFile(this.path, fileMode);
  }

  // ---- write path ------------------------------------------------------------------------

  /**
   * Indexes one batch of a trace (before it is written: a batch that then fails leaves
   * words its retry writes anyway). Appends at once when the trace has ended; throws if
   * that append fails (the records stay buffered).
   */
  record(traceId: string, events: readonly TraceEvent[], info: TraceInfo): void {
    if (events.length > 0) {
      const words = this.#seen.fresh(traceId, batchTokens(events), events[0]!.seq === 1);
      const q = events[events.length - 1]!.seq;
      // Words go into the in-memory index only once this process has searched (loaded it):
      // a writer that never searches only appends them, and a first load replays what is
      // still buffered, then the file.
      if (this.#loaded) this.#apply({ id: traceId, q, w: words });
      this.#buffer.push({ id: traceId, q, w: words });
      this.#seen.commit(traceId, words);
    }
    const f = facetsOf(info);
    const changed = !sameFacets(this.#facets.get(traceId), f);
    if (changed) {
      this.#apply({ id: traceId, f });
      this.#buffer.push({ id: traceId, f });
    }
    // An ended trace is appended at once twice: at the batch where it ended (its facets
    // record, `e` and `v` = its last seq, is what load() trusts) and at its last batch.
    // The batches between (a trace ended while events were still unstored: every one of
    // them carries the final info) wait for the timer; were they lost in a crash, the
    // words' seq below the facets' `v` makes load() repair the trace from its log.
    const last =
      events.length === 0 || typeof info.last_seq !== 'number' || events[events.length - 1]!.seq >= info.last_seq;
    if (f.e === 1 && (changed || last)) this.flush();
    else this.#schedule();
  }

  /** Throws if the append fails (the record stays buffered). */
  recordRemoval(traceId: string): void {
    this.#seen.forget(traceId);
    this.#apply({ id: traceId, rm: 1 });
    this.#buffer.push({ id: traceId, rm: 1 });
    this.flush();
  }

  #schedule(): void {
    if (this.#timer || this.#buffer.length === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        this.flush();
      } catch {
        /* kept in the buffer; retried by the next flush */
      }
    }, FLUSH_MS);
    this.#timer.unref();
  }

  /** Appends the buffered records with one write; on failure they stay buffered and it throws. */
  flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#buffer.length === 0) return;
    try {
      this.#file.append(this.#buffer);
    } catch (err) {
      this.#schedule();
      throw err;
    }
    this.#buffer = [];
  }

  /** Appends what is buffered; a failure is left to the next process's repair. */
  close(): void {
    try {
      this.flush();
    } catch {
      /* the logs hold the words: a reader's load() repairs what is missing */
    }
  }

  #apply(rec: SearchRecord): void {
    if (!ID_RE.test(rec.id)) return;
    if ('rm' in rec) {
      this.#text.remove(rec.id);
      this.#facets.delete(rec.id);
      this.#seq.delete(rec.id);
    } else if ('f' in rec) {
      if (rec.f && typeof rec.f === 'object' && (rec.f.v ?? 0) >= (this.#facets.get(rec.id)?.v ?? 0))
        this.#facets.set(rec.id, rec.f);
    } else if (Array.isArray(rec.w)) {
      this.#text.add(
        rec.id,
        rec.w.filter((w) => typeof w === 'string'),
      );
      if (typeof rec.q === 'number') this.#seq.set(rec.id, Math.max(rec.q, this.#seq.get(rec.id) ?? 0));
    }
  }

  // ---- read path -------------------------------------------------------------------------

  /** Applies records appended by anyone since the last call. False if the file is missing. */
  refresh(): Promise<boolean> {
    return this.#file.exclusive(() => this.#refresh());
  }

  async #refresh(): Promise<boolean> {
    const found = await this.#file.readNew(
      () => {
        // First load, or the file was rebuilt: start over (keeping what is still buffered).
        this.#text.clear();
        this.#facets.clear();
        this.#seq.clear();
        for (const r of this.#buffer) this.#apply(r);
      },
      (r) => this.#apply(r),
    );
    if (!found) return false;
    // This process's newer records, not yet (all) read back, have the last word.
    for (const r of this.#buffer) if ('f' in r) this.#apply(r);
    return true;
  }

  /**
   * Loads the index once per process and repairs it from the logs: traces the listing
   * has that the index lacks (a lost or older index), and traces still running (their
   * writer may have crashed before appending its buffer), are re-read past their last
   * indexed seq. Later calls only refresh.
   */
  async load(
    entries: () => Promise<ReadonlyMap<string, IndexEntry>>,
    infoOf: (e: IndexEntry) => Promise<TraceInfo | undefined>,
  ): Promise<void> {
    if (!this.#loaded) {
      this.#loaded = this.#file.exclusive(async () => {
        await this.#refresh();
        for (const e of (await entries()).values()) {
          if (!isActive(e.s) && this.#complete(e.id)) continue;
          await this.#repair(e, infoOf);
        }
        this.flush();
      });
      this.#loaded.catch(() => {
        this.#loaded = undefined;
      });
      return this.#loaded;
    }
    await this.#loaded;
    await this.refresh();
  }

  /** An ended trace's words are indexed through the last seq its facets know of. */
  #complete(id: string): boolean {
    const f = this.#facets.get(id);
    return f !== undefined && (this.#seq.get(id) ?? 0) >= (f.v ?? 0);
  }

  /** `infoOf` is list()'s: the info of a trace this process writes is newer than its file. */
  async #repair(e: IndexEntry, infoOf: (e: IndexEntry) => Promise<TraceInfo | undefined>): Promise<void> {
    const files = traceFiles(this.#layout.traceDir(e.d, e.id));
    const info = await infoOf(e);
    if (!info) return;
    // A page at a time (one record each): a big log is never in memory whole.
    for (let since = this.#seq.get(e.id) ?? 0; ;) {
      const events = await this.#reader.read(e.id, files, since, REPAIR_PAGE).catch(() => []);
      if (events.length === 0) break;
      since = events[events.length - 1]!.seq;
      const rec: SearchRecord = { id: e.id, q: since, w: [...batchTokens(events)] };
      this.#apply(rec);
      this.#buffer.push(rec);
      if (events.length < REPAIR_PAGE) break;
    }
    const f = facetsOf(info);
    if (!sameFacets(this.#facets.get(e.id), f)) {
      this.#apply({ id: e.id, f });
      this.#buffer.push({ id: e.id, f });
    }
  }

  /** Forgets the loaded index and the file: the next load rebuilds it from every log. */
  async rebuild(
    entries: () => Promise<ReadonlyMap<string, IndexEntry>>,
    infoOf: (e: IndexEntry) => Promise<TraceInfo | undefined>,
  ): Promise<void> {
    await this.#file.exclusive(async () => {
      this.#buffer = [];
      await fsp.rm(this.path, { force: true });
      this.#text.clear();
      this.#facets.clear();
      this.#seq.clear();
      this.#file.reset();
    });
    this.#loaded = undefined;
    await this.load(entries, infoOf);
  }

  /**
   * One page of a search. Candidates come from the index (words, facets) and the listing
   * entries (status, tenant, team, creator, created_at); each page item's info, read as
   * list() reads it, has the last word.
   */
  async page(
    query: ListQuery,
    plan: SearchPlan,
    entries: ReadonlyMap<string, IndexEntry>,
    infoOf: (e: IndexEntry) => Promise<TraceInfo | undefined>,
  ): Promise<ListResult> {
    const limit = listLimit(query);
    const at = decodeSortCursor(query.cursor, plan.sort);
    const ids = plan.terms.length > 0 ? this.#text.match(plan.terms) : entries.keys();
    const found: { e: IndexEntry; pos: SortPos }[] = [];
    for (const id of ids) {
      const e = entries.get(id);
      const f = this.#facets.get(id);
      if (!e || !f) continue;
      const shaped = asInfo(e, f);
      if (!matchesQuery(shaped, query) || !matchesPlan(shaped, plan)) continue;
      const v =
        plan.field === 'created_at' ? e.c : plan.field === 'duration' ? f.du : plan.field === 'tokens' ? f.tk : f.co;
      const pos = { v, c: e.c, id };
      if (at && !afterPos(pos, at, plan)) continue;
      found.push({ e, pos });
    }
    const cmp = comparePos(plan);
    found.sort((a, b) => cmp(a.pos, b.pos));
    const out: TraceInfo[] = [];
    let i = 0;
    while (out.length <= limit && i < found.length) {
      const batch = found.slice(i, i + limit + 1 - out.length);
      i += batch.length;
      const infos = await Promise.all(batch.map((x) => infoOf(x.e)));
      for (const info of infos) if (info && matchesQuery(info, query) && matchesPlan(info, plan)) out.push(info);
    }
    return toSortedPage(out, limit, plan);
  }
}
