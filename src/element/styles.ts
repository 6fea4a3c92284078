// The element's stylesheet. Every colour, the font and the radius are CSS custom
// properties a host page can set on <livetrace-run>; parts expose the main pieces to ::part().
export const STYLES = `
:host {
  --lt-bg: #ffffff; --lt-fg: #1d2330; --lt-muted: #667085; --lt-border: #e4e7ec;
  --lt-accent: #3b6ef5; --lt-success: #12805c; --lt-error: #c4320a; --lt-warn: #b54708;
  --lt-surface: #f6f7f9;
  display: block; font-family: var(--livetrace-font, system-ui, -apple-system, "Segoe UI", sans-serif);
  font-size: var(--livetrace-font-size, 14px); line-height: 1.45;
  color: var(--livetrace-fg, var(--lt-fg)); background: var(--livetrace-bg, var(--lt-bg));
  border: 1px solid var(--livetrace-border, var(--lt-border)); border-radius: var(--livetrace-radius, 10px);
  padding: 12px 14px; box-sizing: border-box;
}
:host([theme="dark"]) { --lt-bg: #14161c; --lt-fg: #e6e8ee; --lt-muted: #9aa3b2; --lt-border: #2b303b;
  --lt-accent: #7aa2ff; --lt-success: #4cc38a; --lt-error: #ff7a59; --lt-warn: #f5b945; --lt-surface: #1c1f27; }
@media (prefers-color-scheme: dark) {
  :host(:not([theme="light"])) { --lt-bg: #14161c; --lt-fg: #e6e8ee; --lt-muted: #9aa3b2; --lt-border: #2b303b;
    --lt-accent: #7aa2ff; --lt-success: #4cc38a; --lt-error: #ff7a59; --lt-warn: #f5b945; --lt-surface: #1c1f27; }
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
.muted { color: var(--livetrace-muted, var(--lt-muted)); }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header { display: flex; align-items: center; gap: 8px; margin-bottom: 10px; }
header .title { font-weight: 600; flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.badge { font-size: 12px; padding: 1px 8px; border-radius: 999px; background: var(--livetrace-surface, var(--lt-surface)); }
.badge[data-status="completed"] { color: var(--livetrace-success, var(--lt-success)); }
.badge[data-status="failed"], .badge[data-status="cancelled"] { color: var(--livetrace-error, var(--lt-error)); }
.badge[data-status="running"], .badge[data-status="pending"] { color: var(--livetrace-accent, var(--lt-accent)); }
ol { list-style: none; margin: 0; padding: 0; }
.timeline > li { position: relative; padding-left: 20px; }
.timeline > li::before { content: ""; position: absolute; left: 6px; top: 0; bottom: 0; width: 2px;
  background: var(--livetrace-border, var(--lt-border)); }
.step { position: relative; margin: 0 0 6px; }
.step > button { all: unset; box-sizing: border-box; display: grid; grid-template-columns: 16px 1fr auto; gap: 2px 8px;
  width: 100%; padding: 4px 6px; border-radius: 6px; cursor: pointer; }
.step > button:hover { background: var(--livetrace-surface, var(--lt-surface)); }
.step > button:focus-visible { outline: 2px solid var(--livetrace-accent, var(--lt-accent)); outline-offset: 1px; }
.icon { grid-row: 1; width: 12px; height: 12px; margin-top: 4px; border-radius: 50%;
  border: 2px solid var(--livetrace-muted, var(--lt-muted)); background: var(--livetrace-bg, var(--lt-bg)); }
.step[data-status="completed"] .icon { border-color: var(--livetrace-success, var(--lt-success)); background: var(--livetrace-success, var(--lt-success)); }
.step[data-status="failed"] .icon { border-color: var(--livetrace-error, var(--lt-error)); background: var(--livetrace-error, var(--lt-error)); }
.step[data-status="cancelled"] .icon, .step[data-status="skipped"] .icon { border-color: var(--livetrace-warn, var(--lt-warn)); }
.step[data-status="running"] .icon { border-color: var(--livetrace-accent, var(--lt-accent)); animation: lt-pulse 1.2s ease-in-out infinite; }
@keyframes lt-pulse { 0%, 100% { box-shadow: 0 0 0 0 color-mix(in srgb, var(--livetrace-accent, var(--lt-accent)) 45%, transparent); }
  50% { box-shadow: 0 0 0 5px transparent; } }
@media (prefers-reduced-motion: reduce) { .step[data-status="running"] .icon { animation: none; background: var(--livetrace-accent, var(--lt-accent)); } }
.label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.time { font-size: 12px; font-variant-numeric: tabular-nums; }
.preview { grid-column: 2 / 4; font-size: 12.5px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.step[data-status="failed"] .preview { color: var(--livetrace-error, var(--lt-error)); }
.detail { margin: 4px 6px 8px 30px; padding: 8px; border-radius: 6px; font-size: 12px;
  background: var(--livetrace-surface, var(--lt-surface)); }
.detail h4 { margin: 6px 0 2px; font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
.detail pre { margin: 0; white-space: pre-wrap; word-break: break-word; max-height: 240px; overflow: auto;
  font-family: var(--livetrace-mono, ui-monospace, SFMono-Regular, Menlo, monospace); }
.parallel { margin: 2px 0 8px; }
.parallel > .caption { font-size: 12px; margin: 0 0 4px 6px; }
.branches { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 180px), 1fr)); gap: 6px;
  border-left: 2px solid var(--livetrace-accent, var(--lt-accent)); padding-left: 6px; margin-left: 2px; }
.branch { min-width: 0; border: 1px solid var(--livetrace-border, var(--lt-border)); border-radius: 8px; padding: 4px 2px 0; }
.answer { margin-top: 10px; padding: 10px 12px; border-radius: 8px; white-space: pre-wrap; word-break: break-word;
  background: var(--livetrace-surface, var(--lt-surface)); border-left: 3px solid var(--livetrace-success, var(--lt-success)); }
.answer h3 { margin: 0 0 4px; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.notice { margin-top: 8px; font-size: 12px; }
.notice[data-kind="error"] { color: var(--livetrace-error, var(--lt-error)); }
`;
