/**
 * What to ask for after a reconnect: `{"type": "resume", "chats": {chat_id: last_seq}}`.
 *
 * For a chat whose history is on screen, the last seq held without a hole (the server sends
 * everything after it, in order). For any other chat, the last seq the inbox knows of, so
 * the inbox catches up with what arrived meanwhile. The server takes at most 200 chats; the
 * most recently active go first.
 */
import { contiguousSeq, type ChatState } from "./chatState";

export const RESUME_MAX_CHATS = 200;

export function resumeCursors(state: ChatState, max: number = RESUME_MAX_CHATS): Record<string, number> {
  const chats = Object.values(state.chats).sort((a, b) => (a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : 0));
  const cursors: Record<string, number> = {};
  let count = 0;
  for (const chat of chats) {
    if (count >= max) break;
    const thread = state.threads[chat.chat_id];
    let seq: number;
    if (thread?.loaded) {
      // An empty loaded chat has nothing yet: everything from 1 on is new.
      seq = thread.messages.length ? contiguousSeq(thread.messages) : 0;
    } else {
      seq = chat.last_seq ?? 0;
    }
    cursors[chat.chat_id] = Math.max(0, Math.floor(seq));
    count += 1;
  }
  return cursors;
}

/** A gap: a message arrived past the next one expected in a thread whose history is loaded. */
export function gapBefore(state: ChatState, chatId: string, seq: number): { after: number; upTo: number } | null {
  const thread = state.threads[chatId];
  if (!thread?.loaded) return null;
  const held = thread.messages.length ? contiguousSeq(thread.messages) : 0;
  if (seq <= held + 1) return null;
  return { after: held, upTo: seq - 1 };
}
