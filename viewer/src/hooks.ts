// Small shared hooks: a ticking clock, a debounced value, the hash route, the theme, element size, a lazily
// loaded chunk.
import type { RefObject } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

/** Current time, refreshed every `ms` while `active`. */
export function useNow(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [active, ms]);
  return now;
}

/**
 * `value`, once it has stayed the same for `ms`: a text field typed into asks the server
 * once per pause, not per key.
 */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

export interface Route {
  page: 'list' | 'trace' | 'session' | 'compare';
  traceId?: string;
  sessionId?: string;
  params: URLSearchParams;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const params = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  const m = /^\/traces\/([^/]+)\/?$/.exec(path);
  if (m) {
    let id = m[1]!;
    try {
      id = decodeURIComponent(id);
    } catch {
      // keep it raw
    }
    return { page: 'trace', traceId: id, params };
  }
  const s = /^\/sessions\/([^/]+)\/?$/.exec(path);
  if (s) return { page: 'session', sessionId: decode(s[1]!), params };
  if (/^\/compare\/?$/.test(path)) return { page: 'compare', params };
  return { page: 'list', params };
}

export function traceHref(id: string, params?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v) q.set(k, v);
  const qs = q.toString();
  return `#/traces/${encodeURIComponent(id)}${qs ? `?${qs}` : ''}`;
}

export function sessionHref(id: string): string {
  return `#/sessions/${encodeURIComponent(id)}`;
}

export function compareHref(a: string | undefined, b: string | undefined): string {
  const q = new URLSearchParams();
  if (a) q.set('a', a);
  if (b) q.set('b', b);
  return `#/compare?${q}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export type Theme = 'light' | 'dark';
const THEME_KEY = 'livetrace.theme';

export function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(() => {
    try {
      const saved = localStorage.getItem(THEME_KEY);
      if (saved === 'light' || saved === 'dark') return saved;
    } catch {
      // storage disabled
    }
    return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  });
  useLayoutEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  const toggle = () => {
    const next: Theme = theme === 'dark' ? 'light' : 'dark';
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      // storage disabled
    }
    setTheme(next);
  };
  return [theme, toggle];
}

/** A code-split chunk (the diff library, the markdown parser), imported once, on first use. */
export interface LazyChunk<T> {
  /** The chunk once loaded; undefined before (and if it failed to load). */
  readonly value: T | undefined;
  /** Starts the import if it has not started; resolves to `value`. Never rejects. */
  load(): Promise<T | undefined>;
}

export function lazyChunk<T>(importer: () => Promise<T>): LazyChunk<T> {
  let value: T | undefined;
  let loading: Promise<T | undefined> | undefined;
  return {
    get value() {
      return value;
    },
    load() {
      loading ??= importer().then(
        (v) => (value = v),
        () => undefined,
      );
      return loading;
    },
  };
}

/** The chunk's value: undefined on the first renders, then (once loaded) the chunk. */
export function useLazyChunk<T>(chunk: LazyChunk<T>): T | undefined {
  // Boxed: the value may be a function, which useState would call.
  const [loaded, setLoaded] = useState<{ value: T } | undefined>(() =>
    chunk.value === undefined ? undefined : { value: chunk.value },
  );
  useEffect(() => {
    if (loaded) return;
    let live = true;
    void chunk.load().then((value) => {
      if (live && value !== undefined) setLoaded({ value });
    });
    return () => {
      live = false;
    };
  }, [chunk, loaded]);
  return loaded?.value;
}

/** Size of an element, kept current with a ResizeObserver. */
export function useSize(ref: RefObject<HTMLElement | null>): { width: number; height: number } {
  const [size, setSize] = useState({ width: 0, height: 0 });
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const update = () =>
      setSize((s) =>
        s.width === el.clientWidth && s.height === el.clientHeight
          ? s
          : { width: el.clientWidth, height: el.clientHeight },
      );
    update();
    const ro = new ResizeObserver(update);
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref]);
  return size;
}

/** True when keyboard shortcuts must not fire (typing in a field). */
export function isTyping(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  if (!t) return false;
  const tag = t.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || t.isContentEditable;
}

/**
 * Page keyboard shortcuts: `handler` sees plain key presses only (no modifier, not while
 * typing in a field; Escape there leaves the field). Re-bound each render, so the handler
 * may read the latest state.
 */
export function useShortcuts(handler: (e: KeyboardEvent) => void): void {
  // One listener for the component's life, calling the handler of the latest render. The
  // handler is swapped in a layout effect (right after the DOM is updated): re-adding the
  // listener in an effect, which Preact runs after the next paint, left a window in which
  // a key pressed after the DOM showed a new selection still saw the old one.
  const latest = useRef(handler);
  useLayoutEffect(() => {
    latest.current = handler;
  });
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (isTyping(e)) {
        if (e.key === 'Escape') (e.target as HTMLElement).blur();
        return;
      }
      latest.current(e);
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
}
