/**
 * Chats whose notifications are muted, per user and per device (localStorage): muting on the
 * phone leaves the laptop ringing. Other tabs of this browser follow through the `storage`
 * event; this tab's listeners are told directly.
 */
import type { StorageLike } from "./outbox";

export function mutedKey(userId: string): string {
  return `commonality.muted.${userId}`;
}

const listeners = new Set<() => void>();

export function mutedChats(storage: StorageLike | null, userId: string): ReadonlySet<string> {
  if (!storage) return new Set();
  try {
    const parsed: unknown = JSON.parse(storage.getItem(mutedKey(userId)) ?? "[]");
    return new Set(Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === "string") : []);
  } catch {
    return new Set(); // unreadable (edited by hand, or storage refused): nothing muted
  }
}

export function isMuted(storage: StorageLike | null, userId: string, chatId: string): boolean {
  return mutedChats(storage, userId).has(chatId);
}

/** Mutes or unmutes one chat; false when the browser refuses to store it. */
export function setMuted(storage: StorageLike | null, userId: string, chatId: string, muted: boolean): boolean {
  if (!storage) return false;
  const chats = new Set(mutedChats(storage, userId));
  if (muted) chats.add(chatId);
  else chats.delete(chatId);
  try {
    if (chats.size) storage.setItem(mutedKey(userId), JSON.stringify([...chats].sort()));
    else storage.removeItem(mutedKey(userId));
  } catch {
    return false;
  }
  for (const listener of listeners) listener();
  return true;
}

/** Called whenever this tab mutes or unmutes a chat. */
export function onMutedChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
