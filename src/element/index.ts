// livetrace/element: <livetrace-run server="…" trace-id="…">, a self-contained live view
// of one run for your own product. Importing this module defines the element once.
import { LivetraceRun } from './livetrace-run.js';

export { LivetraceRun };
export type { LiveStatus, LiveTrace } from '../client/live-trace.js';

if (typeof customElements !== 'undefined' && !customElements.get('livetrace-run')) {
  customElements.define('livetrace-run', LivetraceRun);
}

declare global {
  interface HTMLElementTagNameMap {
    'livetrace-run': LivetraceRun;
  }
}
