"use client";

import { useEffect, useState } from "react";
import type { ChatClient } from "@/lib/client";

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
