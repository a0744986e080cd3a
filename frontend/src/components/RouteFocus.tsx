"use client";

/**
 * After a navigation (logging in, opening a chat, going back), the new page's heading takes
 * the focus: a screen reader says where one has arrived, and Tab goes on from the top of the
 * new page instead of from a link that is gone. The first page keeps the browser's own focus.
 */
import { usePathname } from "next/navigation";
import { useEffect, useRef } from "react";

/** How long a new page may take to show its heading (the signed-in pages load the session first). */
const WAIT_MS = 10_000;

/** The first level-one heading that is rendered (a hidden pane's is not). */
function shownHeading(): HTMLElement | null {
  for (const heading of document.querySelectorAll<HTMLElement>("h1")) {
    if (heading.getClientRects().length > 0) return heading;
  }
  return null;
}

export function RouteFocus() {
  const pathname = usePathname();
  const shown = useRef<string | null>(null);

  useEffect(() => {
    const previous = shown.current;
    shown.current = pathname;
    if (previous === null || previous === pathname) return;
    const from = document.activeElement;
    const settle = (): boolean => {
      const active = document.activeElement;
      // Someone moved the focus meanwhile (typing, clicking): theirs stays.
      if (active && active !== document.body && active !== from) return true;
      const heading = shownHeading();
      if (!heading) return false;
      if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
      heading.focus();
      return true;
    };
    if (settle()) return;
    const observer = new MutationObserver(() => {
      if (settle()) stop();
    });
    const timer = window.setTimeout(() => stop(), WAIT_MS);
    function stop() {
      observer.disconnect();
      window.clearTimeout(timer);
    }
    observer.observe(document.body, { childList: true, subtree: true });
    return stop;
  }, [pathname]);

  return null;
}
