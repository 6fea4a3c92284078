// Fixed-row-height virtualized list: only the rows in view (plus a margin) are in the DOM,
// so 20,000 log lines or 5,000 timeline rows scroll like 50.
import type { ComponentChildren, TargetedKeyboardEvent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useSize } from './hooks.js';

export interface VirtualListProps {
  count: number;
  rowHeight: number;
  renderRow: (index: number) => ComponentChildren;
  /** Keep this row in view when it changes (keyboard navigation, deep links). */
  scrollToIndex?: number;
  /** Stick to the bottom while the user is there (live logs). */
  followTail?: boolean;
  class?: string;
  header?: ComponentChildren;
  overscan?: number;
  ariaLabel?: string;
  onKeyDown?: (e: TargetedKeyboardEvent<HTMLDivElement>) => void;
}

export function VirtualList(props: VirtualListProps) {
  const { count, rowHeight, renderRow, scrollToIndex, followTail, overscan = 8 } = props;
  const ref = useRef<HTMLDivElement | null>(null);
  const { height } = useSize(ref);
  const [scrollTop, setScrollTop] = useState(0);
  const atBottom = useRef(true);

  useEffect(() => {
    const el = ref.current;
    if (!el || scrollToIndex === undefined || scrollToIndex < 0) return;
    const top = scrollToIndex * rowHeight;
    const headerH = el.firstElementChild?.classList.contains('vl-header')
      ? (el.firstElementChild as HTMLElement).offsetHeight
      : 0;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowHeight > el.scrollTop + el.clientHeight - headerH)
      el.scrollTop = top + rowHeight - el.clientHeight + headerH;
  }, [scrollToIndex, rowHeight]);

  useEffect(() => {
    const el = ref.current;
    if (el && followTail && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [count, followTail]);

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + (height || 800)) / rowHeight) + overscan);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div key={i} class="vl-row" style={{ transform: `translateY(${i * rowHeight}px)`, height: `${rowHeight}px` }}>
        {renderRow(i)}
      </div>,
    );
  }
  return (
    <div
      ref={ref}
      class={`vl ${props.class ?? ''}`}
      role="list"
      aria-label={props.ariaLabel}
      tabIndex={0}
      onKeyDown={props.onKeyDown}
      onScroll={(e) => {
        const el = e.currentTarget;
        setScrollTop(el.scrollTop);
        atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight;
      }}
    >
      {props.header ? <div class="vl-header">{props.header}</div> : null}
      <div class="vl-body" style={{ height: `${count * rowHeight}px` }}>
        {rows}
      </div>
    </div>
  );
}
