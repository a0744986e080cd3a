/**
 * Chats whose message notifications are muted, for this tab's Notification API and the service
 * worker: a copy, in this browser's storage, of what the server keeps per person (each chat
 * summary's `muted`, and `chat_muted` from their other devices), so muting on the phone mutes
 * the laptop too. The copy is refilled from the server's state (mutedChatsReplace) and read
 * before the chats have loaded. Other tabs of this browser follow through the `storage` event;
 * this tab's listeners are told directly.
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

/** The chats the person muted, as the server's summaries say. */
export function mutedOnServer(chats: Iterable<{ chat_id: string; muted?: boolean }>): string[] {
  return [...chats].filter((chat) => chat.muted === true).map((chat) => chat.chat_id).sort();
}

/** Makes this device's copy the server's list; listeners are told only when it changed. False
 *  when the browser refuses to store it. */
export function mutedChatsReplace(storage: StorageLike | null, userId: string, chatIds: Iterable<string>): boolean {
  if (!storage) return false;
  const next = [...new Set(chatIds)].sort();
  const held = [...mutedChats(storage, userId)].sort();
  if (next.length === held.length && next.every((id, i) => id === held[i])) return true;
  try {
    if (next.length) storage.setItem(mutedKey(userId), JSON.stringify(next));
    else storage.removeItem(mutedKey(userId));
  } catch {
    return false;
  }
  for (const listener of listeners) listener();
  return true;
}

function uploadedKey(userId: string): string {
  return `commonality.muted-uploaded.${userId}`;
}

/**
 * Chats muted on this device only, from before the server kept mutes, that should now be muted
 * on the server: the first time the chats load in this browser, those of `known` that the
 * server does not have as muted; never again after (a chat unmuted on another device stays
 * unmuted).
 */
export function mutesToUpload(storage: StorageLike | null, userId: string, serverMuted: Iterable<string>, known: Iterable<string>): string[] {
  if (!storage) return [];
  try {
    if (storage.getItem(uploadedKey(userId))) return [];
    storage.setItem(uploadedKey(userId), "1");
  } catch {
    return [];
  }
  const onServer = new Set(serverMuted);
  const chats = new Set(known);
  return [...mutedChats(storage, userId)].filter((id) => chats.has(id) && !onServer.has(id)).sort();
}

/** Called whenever this tab mutes or unmutes a chat. */
export function onMutedChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
