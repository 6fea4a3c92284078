// The shell: top bar (brand, theme, token), hash routing, and the token prompt shown when
// the server refuses a request.
import { useEffect, useState } from 'preact/hooks';
import { getToken, isAuthNeeded, onAuthChange, setToken } from './api.js';
import { useRoute, useTheme } from './hooks.js';
import { TraceList } from './trace-list.js';
import { TracePage } from './trace-page.js';
import { SessionPage } from './session-page.js';
import { ComparePage } from './compare-page.js';

function TokenDialog({ onClose, required }: { onClose: () => void; required: boolean }) {
  const [value, setValue] = useState(getToken() ?? '');
  return (
    <div class="overlay">
      <form
        class="dialog"
        aria-label="Access token"
        onSubmit={(e) => {
          e.preventDefault();
          setToken(value.trim() || null);
          onClose();
          location.reload();
        }}
      >
        <h2>Access token</h2>
        <p class="muted small">
          {required ? 'This server needs a token. ' : ''}It is kept for this browser tab only (session storage) and sent
          with every request.
        </p>
        <input
          class="input"
          type="password"
          autoFocus
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          placeholder="Bearer token"
          aria-label="Token"
        />
        <div class="dialog-actions">
          {getToken() ? (
            <button
              type="button"
              class="btn"
              onClick={() => {
                setToken(null);
                onClose();
                location.reload();
              }}
            >
              Forget token
            </button>
          ) : null}
          {!required ? (
            <button type="button" class="btn" onClick={onClose}>
              Cancel
            </button>
          ) : null}
          <button type="submit" class="btn primary">
            Save
          </button>
        </div>
      </form>
    </div>
  );
}

export function App() {
  const route = useRoute();
  const [theme, toggleTheme] = useTheme();
  const [tokenOpen, setTokenOpen] = useState(false);
  const [authNeeded, setAuthNeeded] = useState(isAuthNeeded());
  useEffect(() => onAuthChange(() => setAuthNeeded(isAuthNeeded())), []);
  useEffect(() => {
    document.title =
      route.page === 'trace'
        ? `${route.traceId} · livetrace`
        : route.page === 'session'
          ? `session ${route.sessionId} · livetrace`
          : route.page === 'compare'
            ? 'compare · livetrace'
            : 'livetrace';
  }, [route.page, route.traceId, route.sessionId]);

  return (
    <div class="app">
      <nav class="topbar">
        <a class="brand" href="#/">
          <span class="logo" aria-hidden="true">
            <svg viewBox="0 0 20 20" width="18" height="18">
              <circle cx="4" cy="4" r="2.6" />
              <circle cx="16" cy="10" r="2.6" />
              <circle cx="4" cy="16" r="2.6" />
              <path d="M4 4 C 10 4, 10 10, 16 10 M4 16 C 10 16, 10 10, 16 10" fill="none" stroke-width="1.6" />
            </svg>
          </span>
          livetrace
        </a>
        {route.page === 'trace' ? (
          <span class="crumb">
            <a href="#/">Traces</a> <span class="muted">/</span> <span class="mono">{route.traceId}</span>
          </span>
        ) : route.page === 'session' ? (
          <span class="crumb">
            <a href="#/">Traces</a> <span class="muted">/</span> session <span class="mono">{route.sessionId}</span>
          </span>
        ) : route.page === 'compare' ? (
          <span class="crumb">
            <a href="#/">Traces</a> <span class="muted">/</span> compare
          </span>
        ) : null}
        <span class="spacer" />
        <button
          class={`btn small ${getToken() ? 'on' : ''}`}
          onClick={() => setTokenOpen(true)}
          title="Access token (kept in this tab's session storage)"
        >
          {getToken() ? 'Token set' : 'Token'}
        </button>
        <button
          class="icon-btn"
          onClick={toggleTheme}
          title={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
          aria-label="Toggle theme"
        >
          {theme === 'dark' ? '☀' : '☾'}
        </button>
      </nav>
      {route.page === 'trace' && route.traceId ? (
        <TracePage key={route.traceId} id={route.traceId} params={route.params} />
      ) : route.page === 'session' && route.sessionId ? (
        <SessionPage key={route.sessionId} id={route.sessionId} />
      ) : route.page === 'compare' ? (
        <ComparePage a={route.params.get('a') ?? undefined} b={route.params.get('b') ?? undefined} />
      ) : (
        <TraceList />
      )}
      {tokenOpen || authNeeded ? <TokenDialog required={authNeeded} onClose={() => setTokenOpen(false)} /> : null}
    </div>
  );
}
