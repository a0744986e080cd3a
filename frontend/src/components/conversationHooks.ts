"use client";

/**
 * The conversation's behaviour, apart from its markup (components/Conversation.tsx): its rows
 * and delivery marks, keeping the list pinned to the newest message,
 * loading older pages at the top, and marking read what is on screen.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type RefObject } from "react";
import { ApiError } from "@/lib/api";
import type { Thread } from "@/lib/chatState";
import type { ChatClient } from "@/lib/client";
import { deliveryMarks, messageRows, type Delivery, type Row } from "@/lib/messageRows";
import { shortName } from "@/lib/names";
import type { OutboxItem } from "@/lib/outbox";
import type { ChatSummary, Member } from "@/lib/types";

/** Within this many pixels of the bottom the list counts as at the bottom (it follows new rows). */
const NEAR_BOTTOM_PX = 80;

/** How far I had read when the chat's messages first loaded (where "New messages" goes); null before. */
export function useReadMarkAtOpen(chat: ChatSummary | undefined, thread: Thread | undefined): number | null {
  const [readMark, setReadMark] = useState<number | null>(null);
  if (readMark === null && chat && thread?.loaded) setReadMark(chat.last_read_seq ?? 0);
  return readMark;
}

export function useMessageRows(thread: Thread | undefined, outgoing: readonly OutboxItem[], meId: string, readMark: number | null): Row[] {
  return useMemo(() => messageRows({ thread, outgoing, meId, readMark }), [thread, outgoing, meId, readMark]);
}

export function useDeliveryMarks(thread: Thread | undefined, meId: string, isGroup: boolean, members: Map<string, Member>): Map<string, Delivery> {
  return useMemo(
    () => deliveryMarks({ thread, meId, isGroup, nameOf: (userId) => shortName(members.get(userId)) }),
    [thread, meId, isGroup, members],
  );
}

export interface ScrollPinning {
  listRef: RefObject<HTMLDivElement | null>;
  /** The list is at (or follows) its bottom. */
  atBottom: RefObject<boolean>;
  onScroll: () => void;
  /** New rows came while scrolled up: offer the way down. */
  jumpVisible: boolean;
  scrollToBottom: (smooth?: boolean) => void;
  /** Follow the next rows to the bottom (I just sent something). */
  pinToBottom: () => void;
  /** Stop following the bottom (the list is taken to an older message). */
  unpin: () => void;
  /** Keep what is on screen in place while rows are added above it (an older page). */
  holdPosition: () => void;
  releasePosition: () => void;
}

/** The list follows new rows while at the bottom (and always for my own new message), and keeps
 *  its place when older rows are added above. */
export function useScrollPinning(lastRow: Row | undefined): ScrollPinning {
  const listRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const prependFrom = useRef<number | null>(null);
  const [jumpVisible, setJumpVisible] = useState(false);
  const lastKey = lastRow?.key;
  const lastIsMineNew = lastRow?.kind === "outgoing";

  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    if (prependFrom.current !== null) {
      el.scrollTop = el.scrollHeight - prependFrom.current;
      prependFrom.current = null;
      return;
    }
    if (atBottom.current || lastIsMineNew) {
      el.scrollTop = el.scrollHeight;
      atBottom.current = true;
    }
  });

  useEffect(() => {
    if (!atBottom.current && lastKey) setJumpVisible(true);
  }, [lastKey]);

  const onScroll = useCallback(() => {
    const el = listRef.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    if (atBottom.current) setJumpVisible(false);
  }, []);

  const scrollToBottom = useCallback((smooth = false) => {
    const el = listRef.current;
    if (!el) return;
    el.scrollTo({ top: el.scrollHeight, behavior: smooth ? "smooth" : "auto" });
    atBottom.current = true;
    setJumpVisible(false);
  }, []);

  const pinToBottom = useCallback(() => {
    atBottom.current = true;
  }, []);
  const unpin = useCallback(() => {
    atBottom.current = false;
  }, []);
  const holdPosition = useCallback(() => {
    const el = listRef.current;
    if (el) prependFrom.current = el.scrollHeight - el.scrollTop;
  }, []);
  const releasePosition = useCallback(() => {
    prependFrom.current = null;
  }, []);

  return { listRef, atBottom, onScroll, jumpVisible, scrollToBottom, pinToBottom, unpin, holdPosition, releasePosition };
}

/** "Load older messages": by the button, or on its own when the top of the list comes near. */
export function useOlderMessages(
  client: ChatClient,
  chatId: string,
  nextCursor: string | null | undefined,
  pinning: Pick<ScrollPinning, "listRef" | "holdPosition" | "releasePosition">,
): { topRef: RefObject<HTMLDivElement | null>; loadOlder: () => Promise<void>; loadingOlder: boolean; olderError: string | null } {
  const { listRef, holdPosition, releasePosition } = pinning;
  const topRef = useRef<HTMLDivElement>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderError, setOlderError] = useState<string | null>(null);

  const loadOlder = useCallback(async () => {
    if (loadingOlder || !nextCursor || !listRef.current) return;
    setLoadingOlder(true);
    setOlderError(null);
    holdPosition();
    try {
      await client.loadOlder(chatId);
    } catch (error) {
      releasePosition();
      setOlderError(error instanceof ApiError ? error.detail : String(error));
    } finally {
      setLoadingOlder(false);
    }
  }, [client, chatId, loadingOlder, nextCursor, listRef, holdPosition, releasePosition]);

  useEffect(() => {
    const top = topRef.current;
    const root = listRef.current;
    if (!top || !root || !nextCursor) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting) && root.scrollHeight > root.clientHeight) void loadOlder();
      },
      { root, rootMargin: "200px 0px 0px 0px" },
    );
    observer.observe(top);
    return () => observer.disconnect();
  }, [loadOlder, nextCursor, listRef]);

  return { topRef, loadOlder, loadingOlder, olderError };
}

/**
 * Read receipts: the highest message at least half on screen is marked read, while the tab is
 * visible. The rows are watched afresh when the thread's length or newest message changes,
 * when the rendered rows change (`shown`: the list is windowed), and after a reconnect (the
 * connection's status).
 */
export function useVisibleReadMarks(
  client: ChatClient,
  chatId: string,
  listRef: RefObject<HTMLDivElement | null>,
  { thread, connection, shown }: { thread: Thread | undefined; connection: string; shown: string },
): void {
  const visibleSeqs = useRef(new Set<number>());
  const markVisibleRead = useCallback(() => {
    if (document.visibilityState !== "visible") return;
    const seqs = [...visibleSeqs.current];
    if (!seqs.length) return;
    client.markRead(chatId, Math.max(...seqs));
  }, [client, chatId]);

  const messageCount = thread?.messages.length ?? 0;
  const lastSeq = thread?.messages[messageCount - 1]?.seq ?? 0;
  useEffect(() => {
    const root = listRef.current;
    if (!root) return;
    const seen = visibleSeqs.current;
    seen.clear();
    const observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const seq = Number((entry.target as HTMLElement).dataset.seq);
          if (entry.isIntersecting) seen.add(seq);
          else seen.delete(seq);
        }
        markVisibleRead();
      },
      { root, threshold: 0.5 },
    );
    root.querySelectorAll<HTMLElement>("[data-seq]").forEach((el) => observer.observe(el));
    const onVisible = () => markVisibleRead();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      observer.disconnect();
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [messageCount, lastSeq, connection, markVisibleRead, listRef, shown]);
}
