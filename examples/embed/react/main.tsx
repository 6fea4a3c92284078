// <livetrace-run> inside a React app: React 19 passes properties (token) and attributes
// (server, trace-id) to custom elements and listens to their events. No React dependency
// in livetrace itself.
import { useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import 'livetrace/element';

declare module 'react' {
  namespace JSX {
    interface IntrinsicElements {
      'livetrace-run': {
        server: string;
        'trace-id': string;
        token?: string;
        theme?: 'light' | 'dark' | 'auto';
        ref?: React.Ref<HTMLElement>;
        style?: React.CSSProperties;
      };
    }
  }
}

function LatestRun() {
  const [traceId, setTraceId] = useState<string>();
  const [status, setStatus] = useState('idle');
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    const pick = async () => {
      const { traces } = (await (await fetch('/v1/trace/traces?limit=1')).json()) as { traces: { id: string }[] };
      if (traces[0]) setTraceId(traces[0].id);
    };
    void pick();
    const t = setInterval(pick, 3000);
    return () => clearInterval(t);
  }, []);
  useEffect(() => {
    const el = ref.current;
    const on = (e: Event) => setStatus((e as CustomEvent<{ status: string }>).detail.status);
    el?.addEventListener('livetrace-status', on);
    return () => el?.removeEventListener('livetrace-status', on);
  }, [traceId]);
  if (!traceId) return <p>Waiting for a run…</p>;
  return (
    <>
      <p>Connection: {status}</p>
      <livetrace-run ref={ref} server={location.origin} trace-id={traceId} theme="auto" />
    </>
  );
}

createRoot(document.getElementById('root')!).render(<LatestRun />);
