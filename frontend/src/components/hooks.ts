"use client";

import { useCallback, useEffect, useMemo, useRef, useState, type RefObject } from "react";
import { ApiError } from "@/lib/api";
import type { ChatClient } from "@/lib/client";
import { conversationTitle, nameInChat, otherMember } from "@/lib/names";
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
function useChatInFocus(client: ChatClient, chatId: string): void {
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

/** Loads the chat's members and newest messages, and keeps its call state current; the error
 *  of the last try to load, and a retry. */
function useOpenChat(client: ChatClient, chatId: string): { loadError: ApiError | null; retry: () => void } {
  const [attempt, setAttempt] = useState(0);
  const request = useMemo(() => ({ client, chatId, attempt }), [client, chatId, attempt]);
  const [failure, setFailure] = useState<{ request: object; error: ApiError } | null>(null);
  useEffect(() => {
    let live = true;
    request.client.openChat(request.chatId).catch((error: unknown) => {
      if (live) setFailure({ request, error: error instanceof ApiError ? error : new ApiError(0, String(error)) });
    });
    return () => {
      live = false;
    };
  }, [request]);
  useEffect(() => client.voice.watch(chatId), [client, chatId]);
  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  return { loadError: failure?.request === request ? failure.error : null, retry };
}

/**
 * A chat's page (the conversation, its call) while on screen: the chat is loaded, its call
 * state kept current, and its new messages aren't unread while the tab is visible. Gives the
 * chat's summary and details as loaded, the other person of a direct chat, its title
 * (lib/names.ts), and the error of the last try to load with a retry.
 */
export function useChatPage(chatId: string) {
  const { client, me } = useSession();
  const snapshot = useClientSnapshot();
  const { loadError, retry } = useOpenChat(client, chatId);
  useChatInFocus(client, chatId);
  const chat = snapshot.chat.chats[chatId];
  const detail = snapshot.chat.details[chatId];
  const other = otherMember(chat, detail?.members, me.user_id);
  return { chat, detail, other, title: conversationTitle(chat, other), loadError, retry };
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
