// In-memory inverted index of trace words (words from core/search.ts): word -> trace ids.
// The MemoryStore's text index, and the file store's loaded view of its index file. Also
// `SeenWords`, the bounded memory of which words a store already indexed for a trace, so
// that a batch repeating words (a node updated with the same input) indexes nothing new.

export class TextIndex {
  /** word -> ids of traces having it. */
  readonly #postings = new Map<string, Set<string>>();
  /** id -> its words (for removal and compaction). */
  readonly #docs = new Map<string, Set<string>>();

  /** Adds words to a trace's entry; returns the words that were new to it. */
  add(id: string, words: Iterable<string>): string[] {
    let doc = this.#docs.get(id);
    if (!doc) this.#docs.set(id, (doc = new Set()));
    const added: string[] = [];
    for (const w of words) {
      if (doc.has(w)) continue;
      doc.add(w);
      added.push(w);
      let ids = this.#postings.get(w);
      if (!ids) this.#postings.set(w, (ids = new Set()));
      ids.add(id);
    }
    return added;
  }

  remove(id: string): void {
    const doc = this.#docs.get(id);
    if (!doc) return;
    this.#docs.delete(id);
    for (const w of doc) {
      const ids = this.#postings.get(w);
      if (!ids) continue;
      ids.delete(id);
      if (ids.size === 0) this.#postings.delete(w);
    }
  }

  clear(): void {
    this.#postings.clear();
    this.#docs.clear();
  }

  has(id: string): boolean {
    return this.#docs.has(id);
  }

  /** Words of one trace. */
  words(id: string): ReadonlySet<string> | undefined {
    return this.#docs.get(id);
  }

  ids(): IterableIterator<string> {
    return this.#docs.keys();
  }

  get size(): number {
    return this.#docs.size;
  }

  /** Ids of the traces having every word (smallest posting list first). */
  match(terms: readonly string[]): Set<string> {
    if (terms.length === 0) return new Set(this.#docs.keys());
    const lists: Set<string>[] = [];
    for (const t of terms) {
      const ids = this.#postings.get(t);
      if (!ids) return new Set();
      lists.push(ids);
    }
    lists.sort((a, b) => a.size - b.size);
    const out = new Set<string>();
    outer: for (const id of lists[0]!) {
      for (let i = 1; i < lists.length; i++) if (!lists[i]!.has(id)) continue outer;
      out.add(id);
    }
    return out;
  }
}

/**
 * Which words a store has indexed for its most recently written traces (LRU, bounded), so
 * a batch only indexes words new to its trace. Forgetting is harmless: words are indexed
 * again (the index is a set).
 */
export class SeenWords {
  readonly #traces = new Map<string, Set<string>>();
  readonly #maxTraces: number;
  readonly #maxWords: number;

  constructor(maxTraces = 256, maxWords = 50_000) {
    this.#maxTraces = maxTraces;
    this.#maxWords = maxWords;
  }

  /** The words of `batch` not yet indexed for the trace. A batch starting the trace (seq 1) forgets what was seen. */
  fresh(id: string, words: ReadonlySet<string>, restart: boolean): string[] {
    if (restart) this.#traces.delete(id);
    const seen = this.#traces.get(id);
    if (!seen) return [...words];
    const out: string[] = [];
    for (const w of words) if (!seen.has(w)) out.push(w);
    return out;
  }

  /** Records words as indexed (after the store committed them). */
  commit(id: string, words: readonly string[]): void {
    let seen = this.#traces.get(id);
    if (seen) this.#traces.delete(id);
    else seen = new Set();
    this.#traces.set(id, seen);
    if (seen.size + words.length > this.#maxWords) seen.clear();
    for (const w of words) seen.add(w);
    if (this.#traces.size > this.#maxTraces) this.#traces.delete(this.#traces.keys().next().value!);
  }

  forget(id: string): void {
    this.#traces.delete(id);
  }
}
