"use client";

/** Presence for components: watch the open chat's members, read one member's presence text. */
import { useEffect, useState, useSyncExternalStore } from "react";
import { presenceRefreshMs, presenceText } from "@/lib/presence";
import { useSession } from "./session";

/** While this chat is on screen, its members' presence is watched (and again after a reconnect). */
export function usePresenceWatch(chatId: string): void {
  const { client } = useSession();
  useEffect(() => {
    client.presence.watch(chatId);
    return () => client.presence.unwatch(chatId);
  }, [client, chatId]);
}

/** "online", "last seen 5 minutes ago" (kept current as time passes), or null. */
export function usePresenceText(userId: string | undefined): string | null {
  const { client } = useSession();
  const presence = useSyncExternalStore(
    client.presence.subscribe,
    () => (userId ? client.presence.get(userId) : undefined),
    () => undefined,
  );
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const wait = presenceRefreshMs(presence, Date.now());
    // A new presence restarts the clock, so the text is computed from a fresh "now".
    const timer = setTimeout(() => setNow(Date.now()), wait ?? 0);
    return () => clearTimeout(timer);
  }, [presence, now]);
  return presenceText(presence, now);
}
