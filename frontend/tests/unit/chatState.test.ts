import { describe, expect, it } from "vitest";
import { chatList, chatReducer, initialChatState, messagePreview, STREAMING_TTL_MS, TYPING_TTL_MS, type ChatState } from "@/lib/chatState";
import type { ChatSummary, ServerFrame } from "@/lib/types";
import { chatSummary, message } from "./fakes";

const summary: ChatSummary = chatSummary();

function base(): ChatState {
  let state = chatReducer(initialChatState, { type: "me", userId: "me" });
  state = chatReducer(state, { type: "chats_loaded", chats: [summary] });
  return state;
}

const frame = (state: ChatState, f: ServerFrame, now = 0) => chatReducer(state, { type: "frame", frame: f, now });

describe("chatReducer: messages", () => {
  it("merges history pages and live messages in seq order without duplicates", () => {
    let state = base();
    state = chatReducer(state, { type: "history_loaded", chatId: "c1", messages: [message(5), message(4), message(3)], nextCursor: "cur", page: "latest" });
    state = frame(state, { type: "message", chat_id: "c1", message: message(6) });
    state = frame(state, { type: "message", chat_id: "c1", message: message(6) }); // resume replay
    state = chatReducer(state, { type: "history_loaded", chatId: "c1", messages: [message(2), message(1)], nextCursor: null, page: "older" });
    const thread = state.threads.c1;
    expect(thread.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(thread.nextCursor).toBeNull();
    expect(thread.loaded).toBe(true);
  });

  it("keeps the older-page cursor when a later latest page (gap fill) arrives", () => {
    let state = base();
    state = chatReducer(state, { type: "history_loaded", chatId: "c1", messages: [message(3)], nextCursor: "older", page: "latest" });
    state = chatReducer(state, { type: "history_loaded", chatId: "c1", messages: [message(4), message(3)], nextCursor: "other", page: "latest" });
    expect(state.threads.c1.nextCursor).toBe("older");
  });

  it("updates the inbox preview and counts unread only for new messages from others", () => {
    let state = base();
    const first = message(1, { text: "x".repeat(150), timestamp: "2026-02-01T00:00:00+00:00" });
    state = frame(state, { type: "message", chat_id: "c1", message: first });
    state = frame(state, { type: "message", chat_id: "c1", message: first }); // replay: not new
    const chat = state.chats.c1;
    expect(chat.unread_count).toBe(1);
    expect(chat.last_seq).toBe(1);
    expect(chat.last_message_preview).toBe(messagePreview("x".repeat(150)));
    expect(chat.last_message_preview?.length).toBe(100);
    expect(chat.updated_at).toBe("2026-02-01T00:00:00+00:00");
  });

  it("does not count messages in the chat on screen, nor my own", () => {
    let state = chatReducer(base(), { type: "focus", chatId: "c1" });
    state = frame(state, { type: "message", chat_id: "c1", message: message(1) });
    expect(state.chats.c1.unread_count).toBe(0);
    state = chatReducer(state, { type: "focus", chatId: null });
    state = frame(state, { type: "message", chat_id: "c1", message: message(2, { from_user_id: "me" }) });
    expect(state.chats.c1.unread_count).toBe(0);
    expect(state.chats.c1.last_read_seq).toBe(2);
  });

  it("sorts the inbox by latest activity", () => {
    let state = base();
    state = chatReducer(state, { type: "chat_upsert", chat: { ...summary, chat_id: "c2", updated_at: "2026-01-05T00:00:00+00:00" } });
    expect(chatList(state).map((c) => c.chat_id)).toEqual(["c2", "c1"]);
    state = frame(state, { type: "message", chat_id: "c1", message: message(1, { timestamp: "2026-01-06T00:00:00+00:00" }) });
    expect(chatList(state).map((c) => c.chat_id)).toEqual(["c1", "c2"]);
  });
});

describe("chatReducer: translation in progress", () => {
  const started: ServerFrame = {
    type: "message_started",
    chat_id: "c1",
    message_id: "m7",
    from_user_id: "them",
    original_text: "Hola",
    original_language: "es",
    timestamp: "2026-01-01T00:00:07+00:00",
  };

  it("streams a translation and replaces it with the stored message", () => {
    let state = base();
    state = frame(state, { type: "typing", chat_id: "c1", user_id: "them" }, 0);
    state = frame(state, started, 10);
    expect(state.threads.c1.typing).toEqual({});
    expect(state.threads.c1.streaming.m7).toMatchObject({ original_text: "Hola", partial: null });
    state = frame(state, { type: "translation_partial", chat_id: "c1", message_id: "m7", language: "en", text: "[en] Ho" });
    expect(state.threads.c1.streaming.m7.partial).toBe("[en] Ho");
    state = frame(state, { type: "message", chat_id: "c1", message: message(7, { message_id: "m7", text: "[en] Hola", original_text: "Hola", original_language: "es" }) });
    expect(state.threads.c1.streaming).toEqual({});
    expect(state.threads.c1.messages[0].text).toBe("[en] Hola");
  });

  it("drops a message being translated when it is withdrawn", () => {
    let state = frame(base(), started, 10);
    state = frame(state, { ...started, message_id: "m8", original_text: "Otra" }, 11);
    state = frame(state, { type: "message_withdrawn", chat_id: "c1", message_id: "m7" });
    expect(Object.keys(state.threads.c1.streaming)).toEqual(["m8"]);
    expect(state.threads.c1.messages).toEqual([]);
    expect(frame(state, { type: "message_withdrawn", chat_id: "c1", message_id: "gone" })).toBe(state);
  });

  it("ignores my own message_started (the outbox shows it)", () => {
    const state = frame(base(), { ...started, from_user_id: "me" } as ServerFrame);
    expect(state.threads.c1?.streaming ?? {}).toEqual({});
  });

  it("ignores partials for unknown messages", () => {
    const state = base();
    expect(frame(state, { type: "translation_partial", chat_id: "c1", message_id: "nope", language: "en", text: "x" })).toBe(state);
  });

  it("resolves an untranslated message when its translation arrives", () => {
    let state = base();
    const untranslated = message(1, { text: "Hola", language: "es", original_text: "Hola", original_language: "es", translated: false });
    state = frame(state, { type: "message", chat_id: "c1", message: untranslated });
    expect(state.threads.c1.messages[0].translated).toBe(false);
    const translated = { ...untranslated, text: "[en] Hola", language: "en", translated: true };
    state = frame(state, { type: "message_updated", chat_id: "c1", message: translated });
    expect(state.threads.c1.messages[0]).toMatchObject({ text: "[en] Hola", translated: true });
    expect(state.chats.c1.last_message_preview).toBe("[en] Hola");
    // a history page fetched before the update must not bring the untranslated copy back
    state = chatReducer(state, { type: "history_loaded", chatId: "c1", messages: [untranslated], nextCursor: null, page: "latest" });
    expect(state.threads.c1.messages[0].translated).toBe(true);
  });

  it("expires stale typing and streaming entries", () => {
    let state = base();
    state = frame(state, { type: "typing", chat_id: "c1", user_id: "them" }, 1000);
    state = frame(state, started, 1000);
    state = chatReducer(state, { type: "expire", now: 1000 + TYPING_TTL_MS + 1 });
    expect(state.threads.c1.typing).toEqual({});
    expect(Object.keys(state.threads.c1.streaming)).toEqual(["m7"]);
    state = chatReducer(state, { type: "expire", now: 1000 + STREAMING_TTL_MS + 1 });
    expect(state.threads.c1.streaming).toEqual({});
  });

  it("forgets typing and half-translated messages when the connection drops", () => {
    let state = frame(frame(base(), { type: "typing", chat_id: "c1", user_id: "them" }, 0), started, 0);
    state = chatReducer(state, { type: "connection_lost" });
    expect(state.threads.c1.typing).toEqual({});
    expect(state.threads.c1.streaming).toEqual({});
  });

  it("ignores my own typing echo", () => {
    const state = base();
    expect(frame(state, { type: "typing", chat_id: "c1", user_id: "me" })).toBe(state);
  });
});

describe("chatReducer: reads and membership", () => {
  it("records other members' read positions, only forward", () => {
    let state = base();
    state = frame(state, { type: "read", chat_id: "c1", user_id: "them", seq: 4 });
    state = frame(state, { type: "read", chat_id: "c1", user_id: "them", seq: 2 });
    expect(state.threads.c1.reads).toEqual({ them: 4 });
  });

  it("clears my unread count when I (in any tab) read up to the end", () => {
    let state = base();
    state = frame(state, { type: "message", chat_id: "c1", message: message(1) });
    state = frame(state, { type: "message", chat_id: "c1", message: message(2) });
    expect(state.chats.c1.unread_count).toBe(2);
    state = frame(state, { type: "read", chat_id: "c1", user_id: "me", seq: 1 });
    expect(state.chats.c1).toMatchObject({ unread_count: 1, last_read_seq: 1 });
    state = chatReducer(state, { type: "read_sent", chatId: "c1", seq: 2 });
    expect(state.chats.c1).toMatchObject({ unread_count: 0, last_read_seq: 2 });
  });

  it("adds chats created by others and removes the ones I leave", () => {
    let state = frame(base(), { type: "chat_created", chat: { ...summary, chat_id: "g1", kind: "group", title: "Trip" } });
    expect(state.chats.g1.title).toBe("Trip");
    state = frame(state, { type: "member_left", chat_id: "g1", user_id: "me" });
    expect(state.chats.g1).toBeUndefined();
  });

  it("keeps group members in step with member_added / member_left", () => {
    let state = chatReducer(base(), {
      type: "detail_loaded",
      detail: { ...summary, chat_id: "c1", members: [{ user_id: "me", username: "me", first_name: "Me", last_name: "X", native_language: "en", last_read_seq: 0 }] },
    });
    state = frame(state, { type: "member_added", chat_id: "c1", user_id: "u2", username: "bo" });
    expect(state.details.c1.members.map((m) => m.username)).toEqual(["me", "bo"]);
    state = frame(state, { type: "member_left", chat_id: "c1", user_id: "u2" });
    expect(state.details.c1.members.map((m) => m.username)).toEqual(["me"]);
  });

  it("does not let an older inbox snapshot undo a newer live message", () => {
    let state = frame(base(), { type: "message", chat_id: "c1", message: message(3, { text: "newest" }) });
    state = chatReducer(state, { type: "chats_loaded", chats: [{ ...summary, last_seq: 2, last_message_preview: "older" }] });
    expect(state.chats.c1.last_message_preview).toBe("newest");
  });
});

describe("chatReducer: glossary", () => {
  const glossary = (version: number, term: string) => ({ chat_id: "c1", version, entries: [{ term, rendering: null }] });

  it("keeps the latest version, whichever of the reply and the frame comes first", () => {
    let state = chatReducer(base(), { type: "glossary_loaded", glossary: glossary(1, "Nico") });
    state = frame(state, { type: "glossary_updated", chat_id: "c1", user_id: "them", glossary: glossary(3, "Ana") });
    expect(state.glossaries.c1.version).toBe(3);
    const unchanged = chatReducer(state, { type: "glossary_loaded", glossary: glossary(2, "Bob") });
    expect(unchanged).toBe(state);
    expect(unchanged.glossaries.c1.entries[0].term).toBe("Ana");
  });

  it("forgets a chat's glossary when I leave it", () => {
    let state = chatReducer(base(), { type: "glossary_loaded", glossary: glossary(1, "Nico") });
    state = frame(state, { type: "member_left", chat_id: "c1", user_id: "me" });
    expect(state.glossaries.c1).toBeUndefined();
  });
});
