"use client";

/**
 * A long list that renders only the rows near its viewport (lib/rowWindow.ts), for the
 * conversation and the inbox. The list's markup is
 *
 *     <scroller ref={scrollRef}>  …  <div ref={spacerRef} style={{height: before}}/>
 *       <ol|ul ref={itemsRef}> the rendered rows, one element each </ol|ul>
 *       <div style={{height: after}}/> … </scroller>
 *
 * After each render the rendered rows are measured (with their margins and the list's gap), the
 * row that was at the top of the viewport is put back where it was (unless `pinnedRef` says the
 * list follows its bottom) and the window is worked out again; scrolling, and rows or the
 * scroller changing size, do the same.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type RefObject } from "react";
import { RowWindow, sameRange, type RowRange } from "@/lib/rowWindow";

export interface ListWindow {
  range: RowRange;
  spacerRef: RefObject<HTMLDivElement | null>;
  itemsRef: RefObject<HTMLOListElement & HTMLUListElement | null>;
  /** Call from the scroller's onScroll. */
  onScroll: () => void;
  /** Scroll row `key` to a third of the way down the viewport, rendering it (a reply's quote,
   *  a link to a message); false when the list has no such row (yet). */
  scrollToKey: (key: string) => boolean;
}

export function useListWindow(
  scrollRef: RefObject<HTMLElement | null>,
  keys: readonly string[],
  { pinnedRef, estimate, anchorable }: { pinnedRef?: RefObject<boolean>; estimate: number; anchorable?: (key: string) => boolean },
): ListWindow {
  // A list that follows its bottom (pinnedRef) opens at its end, any other at its start.
  const followsBottom = pinnedRef !== undefined;
  const [win] = useState(() => new RowWindow(estimate, 800, typeof window === "undefined" ? 800 : window.innerHeight, followsBottom, anchorable));
  const [, setVersion] = useState(0);
  const spacerRef = useRef<HTMLDivElement>(null);
  const itemsRef = useRef<HTMLOListElement & HTMLUListElement>(null);
  const keysRef = useRef(keys);
  const rendered = useRef<RowRange | null>(null);
  const range = win.range(keys);

  /** Where the rows start inside the scroller's content. */
  const base = useCallback((scroller: HTMLElement, spacer: HTMLElement) => {
    return spacer.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop;
  }, []);

  const update = useCallback(
    (restore: boolean) => {
      const scroller = scrollRef.current;
      const spacer = spacerRef.current;
      const items = itemsRef.current;
      const shown = rendered.current;
      const currentKeys = keysRef.current;
      if (!scroller || !spacer || !items || !shown) return;
      // A list not shown (the inbox beside a chat on a phone) would measure every row 0 high;
      // the ResizeObserver below measures it when it shows again.
      if (scroller.getClientRects().length === 0) return;
      const children = items.children;
      const gap = parseFloat(getComputedStyle(items).rowGap) || 0;
      for (let i = 0; i < children.length; i++) {
        const key = currentKeys[shown.start + i];
        if (key === undefined) break;
        const child = children[i] as HTMLElement;
        const style = getComputedStyle(child);
        const lead = parseFloat(style.marginTop) || 0;
        win.measure(key, child.getBoundingClientRect().height + lead + (parseFloat(style.marginBottom) || 0) + gap, lead);
      }
      const pinned = pinnedRef?.current ?? false;
      // Row 0's top in the scroller's content: the spacer stands for the rows above the window.
      let origin = base(scroller, spacer);
      if (pinned) {
        if (restore) scroller.scrollTop = scroller.scrollHeight;
      } else if (restore && win.anchor) {
        const top = win.topOf(currentKeys, win.anchor.key);
        if (top !== null) {
          const want = origin + top + win.anchor.within;
          if (Math.abs(scroller.scrollTop - want) >= 1) scroller.scrollTop = want;
        }
      }
      origin = base(scroller, spacer);
      // A scroll re-anchors to the row now on top; putting the view back keeps the anchor.
      win.setView(currentKeys, { top: scroller.scrollTop - origin, height: scroller.clientHeight, pinned }, !restore);
      if (!sameRange(win.range(currentKeys), shown)) setVersion((v) => v + 1);
    },
    [scrollRef, pinnedRef, win, base],
  );

  useLayoutEffect(() => {
    keysRef.current = keys;
    rendered.current = range;
    update(true);
  });

  const hasRows = keys.length > 0;
  useEffect(() => {
    const scroller = scrollRef.current;
    const items = itemsRef.current;
    if (!scroller || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => update(true));
    observer.observe(scroller);
    if (items) observer.observe(items);
    return () => observer.disconnect();
  }, [scrollRef, update, hasRows]);

  const onScroll = useCallback(() => update(false), [update]);

  const scrollToKey = useCallback(
    (key: string) => {
      const scroller = scrollRef.current;
      const spacer = spacerRef.current;
      const top = win.topOf(keysRef.current, key);
      if (!scroller || !spacer || top === null) return false;
      scroller.scrollTop = Math.max(0, base(scroller, spacer) + top - scroller.clientHeight / 3);
      update(false);
      return true;
    },
    [scrollRef, win, base, update],
  );

  return { range, spacerRef, itemsRef, onScroll, scrollToKey };
}
