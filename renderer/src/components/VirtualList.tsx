import { useLayoutEffect, useRef, useState, type ReactNode } from 'react';

interface VirtualListProps {
  count: number;
  rowHeight: number;
  renderRow: (index: number) => ReactNode;
  /** Keep the newest row in view as rows are added. */
  follow: boolean;
  /** The user scrolled away from the end (false) or back to it (true). */
  onFollowChange: (follow: boolean) => void;
  /** Changes whenever rows change without `count` changing (e.g. a filter). */
  version?: unknown;
  label: string;
}

const OVERSCAN = 8;

/**
 * A fixed-row-height virtual list: only the rows in view (plus a few) are in the DOM, so 200,000
 * rows cost as much to draw as 40. Scroll position is read once per frame.
 */
export function VirtualList({ count, rowHeight, renderRow, follow, onFollowChange, version, label }: VirtualListProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(400);
  const frame = useRef(0);

  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return undefined;
    setHeight(element.clientHeight);
    const observer = new ResizeObserver(() => setHeight(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    const element = ref.current;
    if (!element || !follow) return;
    const bottom = Math.max(0, count * rowHeight - element.clientHeight);
    if (Math.abs(element.scrollTop - bottom) > 1) element.scrollTop = bottom;
    setScrollTop(bottom);
  }, [count, follow, height, rowHeight, version]);

  const onScroll = () => {
    const element = ref.current;
    if (!element) return;
    const atBottom = element.scrollHeight - element.scrollTop - element.clientHeight < rowHeight * 1.5;
    if (follow && !atBottom) onFollowChange(false);
    else if (!follow && atBottom && count > 0) onFollowChange(true);
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      if (ref.current) setScrollTop(ref.current.scrollTop);
    });
  };

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN);
  const rows: ReactNode[] = [];
  const slots = Math.max(256, last - first);
  for (let i = first; i < last; i++) {
    rows.push(
      // Keyed by slot, not by row: a row scrolled into view reuses the DOM of one scrolled out.
      <div key={i % slots} className="vrow" style={{ top: i * rowHeight, height: rowHeight }}>
        {renderRow(i)}
      </div>,
    );
  }
  return (
    <div ref={ref} className="vlist" onScroll={onScroll} role="list" aria-label={label} tabIndex={0}>
      <div className="vlist-inner" style={{ height: count * rowHeight }}>
        {rows}
      </div>
    </div>
  );
}
