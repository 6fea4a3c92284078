// Markdown rendered safely: the text is parsed to a syntax tree (mdast, by
// mdast-util-from-markdown with GFM) and the tree is turned into Preact elements here, one
// node type at a time. Nothing is ever handed to the DOM as HTML:
// - raw HTML in the text (`html` nodes) is shown literally, as text;
// - links keep only http:, https: and mailto: URLs (anything else, javascript: and data:
//   included, is rendered as plain text, not as a link), open in a new tab with
//   rel="noopener noreferrer nofollow";
// - images are never loaded (no requests to URLs from trace data): shown as their alt text,
//   linked under the same rule as links.
// The parser is a separate chunk (markdown-parse.ts), loaded on first use; until it is
// there the text shows as plain text.
import type { ComponentChildren } from 'preact';
import { useMemo } from 'preact/hooks';
import type { Definition, Nodes } from 'mdast';
import { lazyChunk, useLazyChunk } from './hooks.js';

const parser = lazyChunk(() => import('./markdown-parse.js'));

/** Texts longer than this are shown as plain text (parsing cost stays bounded). */
const MAX_MARKDOWN = 200_000;

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/** The URL when it is absolute with a safe protocol; undefined otherwise (relative URLs too). */
export function safeUrl(raw: string | null | undefined): string | undefined {
  if (!raw) return undefined;
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return undefined;
  }
  return SAFE_PROTOCOLS.has(u.protocol) ? u.href : undefined;
}

type Defs = Map<string, Definition>;

function collectDefs(node: Nodes, defs: Defs): void {
  if (node.type === 'definition') defs.set(node.identifier.toLowerCase(), node);
  if ('children' in node) for (const c of node.children) collectDefs(c, defs);
}

function kids(node: Nodes, defs: Defs): ComponentChildren {
  if (!('children' in node)) return null;
  return (node.children as Nodes[]).map((c, i) => render(c, defs, i));
}

function plainText(node: Nodes): string {
  if ('value' in node && typeof node.value === 'string') return node.value;
  if (node.type === 'image' || node.type === 'imageReference') return node.alt ?? '';
  if ('children' in node) return (node.children as Nodes[]).map(plainText).join('');
  return '';
}

function link(url: string | undefined, title: string | null | undefined, children: ComponentChildren, key: number) {
  const href = safeUrl(url);
  if (!href) {
    return (
      <span key={key} class="md-unsafe-link" title="link removed (only http, https and mailto links are kept)">
        {children}
      </span>
    );
  }
  return (
    <a key={key} href={href} title={title ?? href} target="_blank" rel="noopener noreferrer nofollow">
      {children}
    </a>
  );
}

function image(url: string | undefined, alt: string | null | undefined, key: number) {
  const label = `🖼 ${alt || 'image'}`;
  const href = safeUrl(url);
  return href ? (
    <a
      key={key}
      class="md-image"
      href={href}
      target="_blank"
      rel="noopener noreferrer nofollow"
      title={`image (not loaded): ${href}`}
    >
      {label}
    </a>
  ) : (
    <span key={key} class="md-image" title="image (not loaded)">
      {label}
    </span>
  );
}

function render(node: Nodes, defs: Defs, key: number): ComponentChildren {
  switch (node.type) {
    case 'root':
      return kids(node, defs);
    case 'paragraph':
      return <p key={key}>{kids(node, defs)}</p>;
    case 'heading': {
      const H = `h${Math.min(6, node.depth + 2)}` as 'h3';
      return (
        <H key={key} class="md-h">
          {kids(node, defs)}
        </H>
      );
    }
    case 'thematicBreak':
      return <hr key={key} />;
    case 'blockquote':
      return <blockquote key={key}>{kids(node, defs)}</blockquote>;
    case 'list':
      return node.ordered ? (
        <ol key={key} start={node.start ?? undefined}>
          {kids(node, defs)}
        </ol>
      ) : (
        <ul key={key}>{kids(node, defs)}</ul>
      );
    case 'listItem':
      return (
        <li key={key}>
          {typeof node.checked === 'boolean' ? <input type="checkbox" checked={node.checked} disabled /> : null}
          {node.spread
            ? kids(node, defs)
            : (node.children as Nodes[]).map((c, i) =>
                c.type === 'paragraph' ? <span key={i}>{kids(c, defs)}</span> : render(c, defs, i),
              )}
        </li>
      );
    case 'code':
      return (
        <pre key={key} class="md-code">
          <code data-lang={node.lang ?? undefined}>{node.value}</code>
        </pre>
      );
    case 'inlineCode':
      return <code key={key}>{node.value}</code>;
    case 'html':
      // Raw HTML is never interpreted: shown as the literal text it is.
      return (
        <code key={key} class="md-raw-html" title="raw HTML, shown as text">
          {node.value}
        </code>
      );
    case 'text':
      return node.value;
    case 'emphasis':
      return <em key={key}>{kids(node, defs)}</em>;
    case 'strong':
      return <strong key={key}>{kids(node, defs)}</strong>;
    case 'delete':
      return <del key={key}>{kids(node, defs)}</del>;
    case 'break':
      return <br key={key} />;
    case 'link':
      return link(node.url, node.title, kids(node, defs), key);
    case 'linkReference': {
      const d = defs.get(node.identifier.toLowerCase());
      return d ? link(d.url, d.title, kids(node, defs), key) : <span key={key}>{plainText(node)}</span>;
    }
    case 'image':
      return image(node.url, node.alt, key);
    case 'imageReference':
      return image(defs.get(node.identifier.toLowerCase())?.url, node.alt, key);
    case 'definition':
      return null;
    case 'table':
      return (
        <div key={key} class="md-table-wrap">
          <table class="md-table">
            <tbody>
              {node.children.map((row, r) => (
                <tr key={r}>
                  {row.children.map((cell, c) => {
                    const Cell = r === 0 ? 'th' : 'td';
                    const align = node.align?.[c];
                    return (
                      <Cell key={c} style={align ? { textAlign: align } : undefined}>
                        {kids(cell, defs)}
                      </Cell>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    case 'footnoteReference':
      return <sup key={key}>[{node.label ?? node.identifier}]</sup>;
    case 'footnoteDefinition':
      return (
        <div key={key} class="md-footnote">
          <sup>[{node.label ?? node.identifier}]</sup> {kids(node, defs)}
        </div>
      );
    default:
      // Any other node type: its text content, as text.
      return <span key={key}>{plainText(node)}</span>;
  }
}

/** Markdown text rendered as safe elements (see the header). */
export function Markdown({ text, class: cls }: { text: string; class?: string }) {
  const chunk = useLazyChunk(parser);
  const content = useMemo(() => {
    if (!chunk) return <p class="md-pending">{text}</p>;
    if (text.length > MAX_MARKDOWN) return <pre class="md-plain">{text}</pre>;
    try {
      const tree = chunk.parseMarkdown(text);
      const defs: Defs = new Map();
      collectDefs(tree, defs);
      return render(tree, defs, 0);
    } catch {
      return <pre class="md-plain">{text}</pre>;
    }
  }, [text, chunk]);
  return <div class={`md ${cls ?? ''}`}>{content}</div>;
}
