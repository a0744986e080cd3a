"use client";

import { useCallback, useEffect, useState } from "react";
import type { ChatClient } from "@/lib/client";
import { nameInChat } from "@/lib/names";
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
