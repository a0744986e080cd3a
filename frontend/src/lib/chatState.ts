/**
 * Everything the UI shows about chats, as one immutable state and a pure reducer.
 *
 * Messages are kept per chat in sequence order, unique by message_id (and by seq); history
 * pages and live frames merge into the same list, so arriving twice (resume, gap fill,
 * ack + echo) never shows twice. Messages still being translated (`message_started`) live
 * beside them in `streaming` until the stored message arrives.
 */
import { DELETED_PREVIEW, staleCopy, withDeleted, withEdited } from "./messageChanges";
import { personKnownByUsername } from "./names";
import { keepingNewerReactions, messagesWithReactions } from "./reactions";
import { keepQuote } from "./replies";
import type { ChatDetail, ChatSummary, Glossary, Member, Message, ServerFrame } from "./types";

export const PREVIEW_MAX_CHARS = 100;
export const TYPING_TTL_MS = 5_000;
export const STREAMING_TTL_MS = 60_000;

export interface StreamingMessage {
  message_id: string;
  from_user_id: string;
  original_text: string;
  original_language: string;
  timestamp: string;
  /** The translation so far, in the reader's language. */
  partial: string | null;
  started_at: number;
}

export interface Thread {
  /** Sorted by seq, ascending; unique by seq and message_id. */
  messages: Message[];
  streaming: Record<string, StreamingMessage>;
  /** Cursor for the next older page; null when the oldest message is loaded. */
  nextCursor: string | null;
  /** The newest page has been loaded (history is known from some seq up to the latest). */
  loaded: boolean;
  /** Read positions of the members (user_id -> seq), from read events. */
  reads: Record<string, number>;
  /** Who is typing (user_id -> expiry, epoch ms). */
  typing: Record<string, number>;
}

export interface ChatState {
  myUserId: string | null;
  chats: Record<string, ChatSummary>;
  chatsLoaded: boolean;
  details: Record<string, ChatDetail>;
  threads: Record<string, Thread>;
  /** Each chat's glossary, once loaded or heard of (`glossary_updated`). */
  glossaries: Record<string, Glossary>;
  /** The chat on screen while the tab is visible: its new messages are not unread. */
  focusedChatId: string | null;
}

export const initialChatState: ChatState = {
  myUserId: null,
  chats: {},
  chatsLoaded: false,
  details: {},
  threads: {},
  glossaries: {},
  focusedChatId: null,
};

export function emptyThread(): Thread {
  return { messages: [], streaming: {}, nextCursor: null, loaded: false, reads: {}, typing: {} };
}

export type ChatAction =
  | { type: "me"; userId: string }
  /** changedSince: chats a live event added or removed after this snapshot was asked for. */
  | { type: "chats_loaded"; chats: ChatSummary[]; changedSince?: string[] }
  | { type: "chat_upsert"; chat: ChatSummary & { created?: boolean } }
  | { type: "chat_removed"; chatId: string }
  | { type: "detail_loaded"; detail: ChatDetail }
  | { type: "glossary_loaded"; glossary: Glossary }
  | { type: "history_loaded"; chatId: string; messages: Message[]; nextCursor: string | null; page: "latest" | "older" }
  | { type: "focus"; chatId: string | null }
  | { type: "read_sent"; chatId: string; seq: number }
  | { type: "reads_restored"; chatId: string; reads: Record<string, number> }
  | { type: "frame"; frame: ServerFrame; now: number }
  | { type: "sent"; chatId: string; message: Message }
  | { type: "expire"; now: number }
  | { type: "connection_lost" };

export function messagePreview(text: string): string {
  return text.length <= PREVIEW_MAX_CHARS ? text : `${text.slice(0, PREVIEW_MAX_CHARS - 1)}…`;
}

/** Merge messages into a seq-sorted list; a later copy of a message replaces the earlier. */
export function mergeMessages(existing: Message[], incoming: Message[]): Message[] {
  if (!incoming.length) return existing;
  const bySeq = new Map<number, Message>();
  for (const message of existing) bySeq.set(message.seq, message);
  for (const message of incoming) {
    if (typeof message.seq !== "number") continue;
    const previous = bySeq.get(message.seq);
    // Don't let a stale untranslated copy (history fetched before the update) win over a
    // translated one for the same message.
    if (previous && previous.message_id === message.message_id && previous.translated !== false && message.translated === false) {
      continue;
    }
    // Nor an older copy read before an edit or a delete that has reached us since.
    if (previous && staleCopy(previous, message)) continue;
    bySeq.set(message.seq, message);
  }
  const seenIds = new Set<string>();
  const merged: Message[] = [];
  for (const seq of [...bySeq.keys()].sort((a, b) => a - b)) {
    const message = bySeq.get(seq) as Message;
    if (seenIds.has(message.message_id)) continue;
    seenIds.add(message.message_id);
    merged.push(message);
  }
  return merged;
}

/**
 * The highest seq up to which this thread holds every message without a hole, counting up
 * from its oldest loaded message; 0 when it holds none.
 */
export function contiguousSeq(messages: Message[]): number {
  if (!messages.length) return 0;
  let last = messages[0].seq;
  for (let i = 1; i < messages.length; i++) {
    if (messages[i].seq !== last + 1) break;
    last = messages[i].seq;
  }
  return last;
}

function sortChats(chats: Record<string, ChatSummary>): ChatSummary[] {
  return Object.values(chats).sort((a, b) => (a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : 0));
}

export function chatList(state: ChatState): ChatSummary[] {
  return sortChats(state.chats);
}

function withThread(state: ChatState, chatId: string, change: (thread: Thread) => Thread): ChatState {
  const thread = state.threads[chatId] ?? emptyThread();
  const next = change(thread);
  if (next === thread) return state;
  return { ...state, threads: { ...state.threads, [chatId]: next } };
}

function withChat(state: ChatState, chatId: string, change: (chat: ChatSummary) => ChatSummary): ChatState {
  const chat = state.chats[chatId];
  if (!chat) return state;
  const next = change(chat);
  if (next === chat) return state;
  const detail = state.details[chatId];
  return {
    ...state,
    chats: { ...state.chats, [chatId]: next },
    details: detail ? { ...state.details, [chatId]: { ...detail, ...next, members: detail.members } } : state.details,
  };
}

function laterTimestamp(a: string, b: string): string {
  return a > b ? a : b;
}

/** A stored message, as the inbox and the thread should reflect it. */
function applyMessage(state: ChatState, chatId: string, message: Message): ChatState {
  let next = withThread(state, chatId, (thread) => {
    const streaming = { ...thread.streaming };
    delete streaming[message.message_id];
    const typing = { ...thread.typing };
    delete typing[message.from_user_id];
    return { ...thread, messages: mergeMessages(thread.messages, [message]), streaming, typing };
  });
  next = withChat(next, chatId, (chat) => {
    const lastSeq = chat.last_seq ?? 0;
    if (message.seq < lastSeq) return chat;
    const mine = message.from_user_id === state.myUserId;
    const isNew = message.seq > lastSeq;
    const focused = state.focusedChatId === chatId;
    let unread = chat.unread_count ?? 0;
    let lastRead = chat.last_read_seq ?? 0;
    if (mine) {
      unread = 0;
      lastRead = Math.max(lastRead, message.seq);
    } else if (isNew && !focused && message.seq > lastRead) {
      unread += 1;
    }
    return {
      ...chat,
      last_seq: message.seq,
      last_message_preview: message.deleted ? DELETED_PREVIEW : messagePreview(message.text),
      updated_at: laterTimestamp(chat.updated_at, message.timestamp),
      unread_count: unread,
      last_read_seq: lastRead,
    };
  });
  return next;
}

function applyRead(state: ChatState, chatId: string, userId: string, seq: number): ChatState {
  let next = withThread(state, chatId, (thread) =>
    (thread.reads[userId] ?? 0) >= seq ? thread : { ...thread, reads: { ...thread.reads, [userId]: seq } },
  );
  if (userId === state.myUserId) {
    next = withChat(next, chatId, (chat) => {
      const lastRead = Math.max(chat.last_read_seq ?? 0, seq);
      const remaining = Math.max(0, (chat.last_seq ?? 0) - lastRead);
      const unread = Math.min(chat.unread_count ?? 0, remaining);
      if (lastRead === chat.last_read_seq && unread === chat.unread_count) return chat;
      return { ...chat, last_read_seq: lastRead, unread_count: unread };
    });
  }
  return next;
}

function applyFrame(state: ChatState, frame: ServerFrame, now: number): ChatState {
  switch (frame.type) {
    case "message":
      return applyMessage(state, frame.chat_id, frame.message);
    case "message_started": {
      if (frame.from_user_id === state.myUserId) return state; // my own: the outbox shows it
      return withThread(state, frame.chat_id, (thread) => {
        if (thread.messages.some((m) => m.message_id === frame.message_id)) return thread;
        const typing = { ...thread.typing };
        delete typing[frame.from_user_id];
        return {
          ...thread,
          typing,
          streaming: {
            ...thread.streaming,
            [frame.message_id]: {
              message_id: frame.message_id,
              from_user_id: frame.from_user_id,
              original_text: frame.original_text,
              original_language: frame.original_language,
              timestamp: frame.timestamp,
              partial: thread.streaming[frame.message_id]?.partial ?? null,
              started_at: now,
            },
          },
        };
      });
    }
    case "message_withdrawn":
      // Announced but never stored (the send failed, or repeated one already here).
      return withThread(state, frame.chat_id, (thread) => {
        if (!thread.streaming[frame.message_id]) return thread;
        const streaming = { ...thread.streaming };
        delete streaming[frame.message_id];
        return { ...thread, streaming };
      });
    case "translation_partial":
      return withThread(state, frame.chat_id, (thread) => {
        const current = thread.streaming[frame.message_id];
        if (!current) return thread;
        return { ...thread, streaming: { ...thread.streaming, [frame.message_id]: { ...current, partial: frame.text } } };
      });
    case "message_updated": {
      let next = withThread(state, frame.chat_id, (thread) => {
        if (!thread.messages.some((m) => m.message_id === frame.message.message_id)) return thread;
        return {
          ...thread,
          messages: thread.messages.map((m) => (m.message_id === frame.message.message_id ? keepingNewerReactions(keepQuote(m, frame.message), m) : m)),
        };
      });
      next = withChat(next, frame.chat_id, (chat) =>
        chat.last_seq === frame.message.seq ? { ...chat, last_message_preview: messagePreview(frame.message.text) } : chat,
      );
      return next;
    }
    case "message_edited": {
      const next = withThread(state, frame.chat_id, (thread) => {
        const messages = withEdited(thread.messages, frame.message);
        return messages === thread.messages ? thread : { ...thread, messages };
      });
      return withChat(next, frame.chat_id, (chat) =>
        chat.last_seq === frame.message.seq ? { ...chat, last_message_preview: messagePreview(frame.message.text) } : chat,
      );
    }
    case "message_deleted": {
      const next = withThread(state, frame.chat_id, (thread) => {
        const messages = withDeleted(thread.messages, frame.message_id, frame.seq);
        return messages === thread.messages ? thread : { ...thread, messages };
      });
      return withChat(next, frame.chat_id, (chat) => (chat.last_seq === frame.seq ? { ...chat, last_message_preview: DELETED_PREVIEW } : chat));
    }
    case "typing":
      if (frame.user_id === state.myUserId) return state;
      return withThread(state, frame.chat_id, (thread) => ({
        ...thread,
        typing: { ...thread.typing, [frame.user_id]: now + TYPING_TTL_MS },
      }));
    case "read":
      return applyRead(state, frame.chat_id, frame.user_id, frame.seq);
    case "chat_created":
      return { ...state, chats: { ...state.chats, [frame.chat.chat_id]: { ...state.chats[frame.chat.chat_id], ...frame.chat } } };
    case "member_added": {
      const detail = state.details[frame.chat_id];
      if (!detail || detail.members.some((m) => m.user_id === frame.user_id)) return state;
      // Until the chat's details are loaded again: a member joins having read up to the
      // chat's latest message, as the server records it.
      const member: Member = { ...personKnownByUsername(frame), native_language: "", last_read_seq: detail.last_seq ?? 0 };
      return { ...state, details: { ...state.details, [frame.chat_id]: { ...detail, members: [...detail.members, member] } } };
    }
    case "glossary_updated":
      return withGlossary(state, frame.glossary);
    case "chat_muted":
      return withChat(state, frame.chat_id, (chat) => (chat.muted === frame.muted ? chat : { ...chat, muted: frame.muted }));
    case "reaction_updated":
      return withThread(state, frame.chat_id, (thread) => {
        const messages = messagesWithReactions(thread.messages, frame);
        return messages === thread.messages ? thread : { ...thread, messages };
      });
    case "member_left": {
      if (frame.user_id === state.myUserId) return removeChat(state, frame.chat_id);
      const detail = state.details[frame.chat_id];
      if (!detail) return state;
      return {
        ...state,
        details: { ...state.details, [frame.chat_id]: { ...detail, members: detail.members.filter((m) => m.user_id !== frame.user_id) } },
      };
    }
    default:
      return state;
  }
}

/** The state with `glossary`, unless it already holds a later version (replies and frames can
 * arrive in either order). */
function withGlossary(state: ChatState, glossary: Glossary): ChatState {
  const held = state.glossaries[glossary.chat_id];
  if (held && held.version >= glossary.version) return state;
  return { ...state, glossaries: { ...state.glossaries, [glossary.chat_id]: glossary } };
}

function removeChat(state: ChatState, chatId: string): ChatState {
  const chats = { ...state.chats };
  delete chats[chatId];
  const details = { ...state.details };
  delete details[chatId];
  const threads = { ...state.threads };
  delete threads[chatId];
  const glossaries = { ...state.glossaries };
  delete glossaries[chatId];
  return { ...state, chats, details, threads, glossaries };
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "me":
      return state.myUserId === action.userId ? state : { ...initialChatState, myUserId: action.userId };
    case "chats_loaded": {
      const chats: Record<string, ChatSummary> = {};
      const changedSince = new Set(action.changedSince ?? []);
      for (const chatId of changedSince) {
        if (state.chats[chatId]) chats[chatId] = state.chats[chatId];
      }
      for (const chat of action.chats) {
        const known = state.chats[chat.chat_id];
        if (changedSince.has(chat.chat_id) && !known) continue; // left after the snapshot was read
        // A live message newer than this (possibly older) snapshot keeps its preview.
        chats[chat.chat_id] =
          known && (known.last_seq ?? 0) > (chat.last_seq ?? 0) ? { ...chat, ...known } : { ...known, ...chat };
      }
      return { ...state, chats, chatsLoaded: true };
    }
    case "chat_upsert": {
      const { created: _created, ...chat } = action.chat;
      return { ...state, chats: { ...state.chats, [chat.chat_id]: { ...state.chats[chat.chat_id], ...chat } } };
    }
    case "chat_removed":
      return removeChat(state, action.chatId);
    case "glossary_loaded":
      return withGlossary(state, action.glossary);
    case "detail_loaded": {
      const { members, ...summary } = action.detail;
      const known = state.chats[summary.chat_id];
      const merged = known && (known.last_seq ?? 0) > (summary.last_seq ?? 0) ? { ...summary, ...known } : { ...known, ...summary };
      let next: ChatState = {
        ...state,
        chats: { ...state.chats, [summary.chat_id]: merged },
        details: { ...state.details, [summary.chat_id]: { ...merged, members } },
      };
      for (const member of members) next = applyRead(next, summary.chat_id, member.user_id, member.last_read_seq);
      return next;
    }
    case "history_loaded": {
      let next = withThread(state, action.chatId, (thread) => {
        const messages = mergeMessages(thread.messages, action.messages);
        const streaming = { ...thread.streaming };
        for (const message of action.messages) delete streaming[message.message_id];
        return {
          ...thread,
          messages,
          streaming,
          loaded: true,
          nextCursor: action.page === "older" || !thread.loaded ? action.nextCursor : thread.nextCursor,
        };
      });
      const newest = action.messages.reduce<Message | null>((best, m) => (!best || m.seq > best.seq ? m : best), null);
      if (newest) {
        next = withChat(next, action.chatId, (chat) =>
          newest.seq >= (chat.last_seq ?? 0)
            ? { ...chat, last_seq: newest.seq, last_message_preview: newest.deleted ? DELETED_PREVIEW : messagePreview(newest.text) }
            : chat,
        );
      }
      return next;
    }
    case "focus":
      return state.focusedChatId === action.chatId ? state : { ...state, focusedChatId: action.chatId };
    case "read_sent":
      return applyRead(state, action.chatId, state.myUserId ?? "", action.seq);
    case "reads_restored":
      return Object.entries(action.reads).reduce((acc, [userId, seq]) => applyRead(acc, action.chatId, userId, seq), state);
    case "frame":
      return applyFrame(state, action.frame, action.now);
    case "sent":
      return applyMessage(state, action.chatId, action.message);
    case "expire": {
      let changed = false;
      const threads: Record<string, Thread> = {};
      for (const [chatId, thread] of Object.entries(state.threads)) {
        const typing = Object.fromEntries(Object.entries(thread.typing).filter(([, until]) => until > action.now));
        const streaming = Object.fromEntries(
          Object.entries(thread.streaming).filter(([, s]) => action.now - s.started_at < STREAMING_TTL_MS),
        );
        const same =
          Object.keys(typing).length === Object.keys(thread.typing).length &&
          Object.keys(streaming).length === Object.keys(thread.streaming).length;
        threads[chatId] = same ? thread : { ...thread, typing, streaming };
        if (!same) changed = true;
      }
      return changed ? { ...state, threads } : state;
    }
    case "connection_lost": {
      // Typing and half-translated messages are stale once the connection is gone; what was
      // stored meanwhile comes back through resume.
      let changed = false;
      const threads: Record<string, Thread> = {};
      for (const [chatId, thread] of Object.entries(state.threads)) {
        if (Object.keys(thread.typing).length || Object.keys(thread.streaming).length) {
          threads[chatId] = { ...thread, typing: {}, streaming: {} };
          changed = true;
        } else threads[chatId] = thread;
      }
      return changed ? { ...state, threads } : state;
    }
    default:
      return state;
  }
}

/** Whether anything in the state expires with time (typing, stale streaming). */
export function hasExpiring(state: ChatState): boolean {
  return Object.values(state.threads).some((t) => Object.keys(t.typing).length > 0 || Object.keys(t.streaming).length > 0);
}
