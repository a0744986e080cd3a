/**
 * Edit and delete for everyone, as the chat state sees them: `message_edited` replaces a
 * message's text (in the reader's language, with `edited_at`), `message_deleted` turns it into
 * a tombstone (its text gone, its place in the sequence kept). Pure functions the reducer
 * (chatState.ts) calls; who may edit or delete what is decided by the server, and mirrored
 * here only to show the right buttons.
 */
import { keepQuote } from "./replies";
import type { ChatDetail, Message } from "./types";

/** What the inbox shows when a chat's latest message was deleted (as the server stores it). */
export const DELETED_PREVIEW = "Message deleted";
/** The server's default MESSAGE_EDIT_WINDOW_SECONDS: the Edit button hides after it. */
export const EDIT_WINDOW_MS = 15 * 60 * 1000;

/** The message as a tombstone: no text, no meta, its ids and place kept. */
export function tombstoneOf(message: Message): Message {
  const { meta: _meta, translation_skipped: _skipped, reactions: _reactions, reply_to: _quote, ...rest } = message;
  return { ...rest, text: "", original_text: "", translated: true, deleted: true };
}

/** Whether `incoming` is an older copy of `held` (same message) that must not replace it: a
 *  history page or replay read before an edit or a delete that has reached us since. */
export function staleCopy(held: Message, incoming: Message): boolean {
  if (held.message_id !== incoming.message_id) return false;
  if (held.deleted && !incoming.deleted) return true;
  if (held.edited_at && (!incoming.edited_at || incoming.edited_at < held.edited_at)) return true;
  return false;
}

/** The thread's messages with the edited one in place of its earlier text (by message_id);
 *  unchanged when the message is not loaded or the held copy is already newer. */
export function withEdited(messages: Message[], edited: Message): Message[] {
  const index = messages.findIndex((m) => m.message_id === edited.message_id);
  if (index < 0) return messages;
  const held = messages[index];
  if (held.deleted || (held.edited_at && edited.edited_at && edited.edited_at < held.edited_at)) return messages;
  const next = messages.slice();
  // The frame carries no quote (it did not change): keep the one shown.
  next[index] = keepQuote(held, edited);
  return next;
}

/** The thread's messages with the one at `seq` (and `messageId`) deleted. */
export function withDeleted(messages: Message[], messageId: string, seq: number): Message[] {
  const index = messages.findIndex((m) => m.message_id === messageId && m.seq === seq);
  if (index < 0 || messages[index].deleted) return messages;
  const next = messages.slice();
  next[index] = tombstoneOf(messages[index]);
  return next;
}

export interface MessageActions {
  canEdit: boolean;
  canDelete: boolean;
}

/** Which buttons a message shows its reader: Edit for their own text message still inside the
 *  window, Delete for their own (or any, in a group they created); none for a tombstone. */
export function messageActions(message: Message, myUserId: string, detail: ChatDetail | undefined, now: number): MessageActions {
  if (message.deleted) return { canEdit: false, canDelete: false };
  const mine = message.from_user_id === myUserId;
  const creator = detail?.kind === "group" && detail.created_by === myUserId;
  const kind = message.kind ?? "text";
  const age = now - Date.parse(message.timestamp);
  return {
    canEdit: mine && kind === "text" && age < EDIT_WINDOW_MS,
    canDelete: mine || creator,
  };
}
