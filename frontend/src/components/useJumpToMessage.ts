"use client";

/**
 * Jumping to one message of the open chat (a reply's quote, a `/chats/[id]?at=<seq>` link):
 * older history pages are loaded until it is there (lib/jumpToMessage.ts), the windowed list
 * scrolls it into view (listWindow.scrollToKey), and it is highlighted for a moment and takes
 * the focus, so a keyboard or screen reader user lands on it too.
 */
import { useCallback, useEffect, useRef, useState, type RefObject } from "react";
import type { ChatClient } from "@/lib/client";
import { loadUntil } from "@/lib/jumpToMessage";
import type { Row } from "@/lib/messageRows";
import { seqFromQuery } from "@/lib/replies";
import type { ListWindow } from "./listWindow";

export const HIGHLIGHT_MS = 2000;
/** Frames to wait for React to render a page or a row before giving up. */
const RENDER_FRAMES = 60;

const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));

export interface Jump {
  jumpTo: (seq: number) => Promise<boolean>;
  /** The seq being loaded for, while older pages load. */
  jumping: number | null;
  /** Set when the message could not be shown (deleted, or history failed to load). */
  jumpError: string | null;
}

export function useJumpToMessage({
  client,
  chatId,
  rows,
  listRef,
  listWindow,
  unpin,
  loaded,
}: {
  client: ChatClient;
  chatId: string;
  rows: Row[];
  listRef: RefObject<HTMLDivElement | null>;
  listWindow: ListWindow;
  /** Stop the list following its bottom (conversationHooks' pinning). */
  unpin: () => void;
  loaded: boolean;
}): Jump {
  const [jumping, setJumping] = useState<number | null>(null);
  const [jumpError, setJumpError] = useState<string | null>(null);
  const rowsRef = useRef(rows);
  useEffect(() => {
    rowsRef.current = rows;
  }, [rows]);
  const windowRef = useRef(listWindow);
  useEffect(() => {
    windowRef.current = listWindow;
  }, [listWindow]);

  const rowKeyOf = useCallback((seq: number) => rowsRef.current.find((row) => row.kind === "message" && row.message.seq === seq)?.key ?? null, []);

  const jumpTo = useCallback(
    async (seq: number) => {
      setJumpError(null);
      setJumping(seq);
      // The list stops following its bottom while it shows an older message.
      unpin();
      try {
        const thread = () => client.state.threads[chatId];
        const found = await loadUntil(seq, {
          has: (s) => thread()?.messages.some((m) => m.seq === s) ?? false,
          oldest: () => thread()?.messages[0]?.seq ?? null,
          loadOlder: () => client.loadOlder(chatId),
        });
        if (!found) {
          setJumpError("That message is no longer in this chat.");
          return false;
        }
        // Wait for its row to render, then scroll the window to it.
        let element: HTMLElement | null = null;
        for (let frame = 0; frame < RENDER_FRAMES && !element; frame++) {
          const key = rowKeyOf(seq);
          if (key) windowRef.current.scrollToKey(key);
          await nextFrame();
          element = listRef.current?.querySelector<HTMLElement>(`[data-seq="${seq}"]`) ?? null;
        }
        if (!element) return false;
        element.scrollIntoView({ block: "center" });
        element.dataset.highlight = "true";
        element.tabIndex = -1;
        element.focus({ preventScroll: true });
        const shown = element;
        setTimeout(() => delete shown.dataset.highlight, HIGHLIGHT_MS);
        return true;
      } catch {
        setJumpError("Older messages could not be loaded; try again.");
        return false;
      } finally {
        setJumping(null);
      }
    },
    [client, chatId, unpin, listRef, rowKeyOf],
  );

  // `?at=<seq>`: once the chat has loaded, open it at that message.
  const atDone = useRef(false);
  useEffect(() => {
    if (!loaded || atDone.current || typeof window === "undefined") return;
    atDone.current = true;
    const seq = seqFromQuery(window.location.search);
    if (seq !== null) void Promise.resolve().then(() => jumpTo(seq));
  }, [loaded, jumpTo]);

  return { jumpTo, jumping, jumpError };
}
