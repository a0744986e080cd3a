"use client";

import { useCallback, useEffect, useRef, useState, type RefObject } from "react";
import type { ChatClient } from "@/lib/client";
import { nameInChat } from "@/lib/names";
import { gestureUp, type Gesture } from "@/lib/recording";
import { useClientSnapshot, useSession } from "./session";

/** Re-render every second while `active` (timers on screen). */
export function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

/** While this chat is on screen (and the tab visible), its new messages aren't unread. */
export function useChatInFocus(client: ChatClient, chatId: string): void {
  useEffect(() => {
    const update = () => client.focus(document.visibilityState === "visible" ? chatId : null);
    update();
    document.addEventListener("visibilitychange", update);
    return () => {
      document.removeEventListener("visibilitychange", update);
      client.focus(null);
    };
  }, [client, chatId]);
}

/** Someone in this chat by id, as lib/names.ts's nameInChat says it ("You" for me). */
export function useNameOf(chatId: string): (userId: string) => string {
  const { me } = useSession();
  const snapshot = useClientSnapshot();
  const members = snapshot.chat.details[chatId]?.members;
  const chat = snapshot.chat.chats[chatId];
  return useCallback((userId: string) => nameInChat(userId, { meId: me.user_id, members, chat }), [me.user_id, members, chat]);
}

/**
 * The hold-to-talk gesture (lib/recording.ts): a ref, so a press and its release in quick
 * succession read each other's state at once, and whether it is latched (a quick tap keeps
 * recording) as state, for the label.
 */
export function useGesture(): {
  gesture: RefObject<Gesture>;
  setGesture: (next: Gesture) => void;
  /** Back to up without touching `latched` (it shows only while recording; the next press sets it). */
  resetGesture: () => void;
  latched: boolean;
} {
  const gesture = useRef<Gesture>(gestureUp);
  const [latched, setLatched] = useState(false);
  const setGesture = useCallback((next: Gesture) => {
    gesture.current = next;
    setLatched(next.phase === "latched");
  }, []);
  const resetGesture = useCallback(() => {
    gesture.current = gestureUp;
  }, []);
  return { gesture, setGesture, resetGesture, latched };
}
