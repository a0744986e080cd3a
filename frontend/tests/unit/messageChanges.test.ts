import { describe, expect, it } from "vitest";
import { chatReducer, initialChatState, type ChatState } from "@/lib/chatState";
import { DELETED_PREVIEW, EDIT_WINDOW_MS, messageActions, tombstoneOf } from "@/lib/messageChanges";
import type { ChatDetail, ServerFrame } from "@/lib/types";
import { chatSummary, message } from "./fakes";

function loaded(): ChatState {
  let state = chatReducer(initialChatState, { type: "me", userId: "me" });
  state = chatReducer(state, { type: "chats_loaded", chats: [chatSummary()] });
  return chatReducer(state, {
    type: "history_loaded",
    chatId: "c1",
    messages: [message(2, { text: "second" }), message(1, { text: "first" })],
    nextCursor: null,
    page: "latest",
  });
}

const frame = (state: ChatState, f: ServerFrame) => chatReducer(state, { type: "frame", frame: f, now: 0 });

describe("chatReducer: message_edited", () => {
  it("replaces the text in place and the inbox preview when it is the latest", () => {
    const edited = message(2, { text: "second, edited", edited_at: "2026-02-01T00:00:05+00:00" });
    const state = frame(loaded(), { type: "message_edited", chat_id: "c1", message: edited });
    expect(state.threads.c1.messages.map((m) => m.text)).toEqual(["first", "second, edited"]);
    expect(state.threads.c1.messages[1].edited_at).toBe("2026-02-01T00:00:05+00:00");
    expect(state.chats.c1.last_message_preview).toBe("second, edited");
  });

  it("leaves the preview of a later message alone, and ignores a message not loaded", () => {
    let state = frame(loaded(), { type: "message_edited", chat_id: "c1", message: message(1, { text: "first, edited", edited_at: "x" }) });
    expect(state.chats.c1.last_message_preview).toBe("second");
    const before = state;
    state = frame(state, { type: "message_edited", chat_id: "c1", message: message(9, { text: "not here", edited_at: "x" }) });
    expect(state.threads).toBe(before.threads);
  });

  it("keeps the edit when an older copy (a history page read before it) arrives later", () => {
    const edited = message(2, { text: "second, edited", edited_at: "2026-02-01T00:00:05+00:00" });
    let state = frame(loaded(), { type: "message_edited", chat_id: "c1", message: edited });
    state = chatReducer(state, { type: "history_loaded", chatId: "c1", messages: [message(2, { text: "second" })], nextCursor: null, page: "latest" });
    expect(state.threads.c1.messages[1].text).toBe("second, edited");
  });
});

describe("edit and delete with replies and reactions", () => {
  const quote = { seq: 1, message_id: "m1", from_user_id: "them", text: "first", language: "en" };
  const reactions = [{ emoji: "👍", count: 1, user_ids: ["them"] }];

  it("an edited reply keeps its quote (the frame carries none)", () => {
    let state = loaded();
    state = chatReducer(state, { type: "history_loaded", chatId: "c1", messages: [message(2, { text: "second", reply_to: quote })], nextCursor: null, page: "latest" });
    const edited = message(2, { text: "second, edited", edited_at: "2026-02-01T00:00:05+00:00" });
    state = frame(state, { type: "message_edited", chat_id: "c1", message: edited });
    expect(state.threads.c1.messages[1].text).toBe("second, edited");
    expect(state.threads.c1.messages[1].reply_to).toEqual(quote);
  });

  it("a tombstone shows neither the quote nor the reactions it had", () => {
    const gone = tombstoneOf(message(2, { text: "second", reply_to: quote, reactions, reactions_version: 1 }));
    expect(gone.reply_to).toBeUndefined();
    expect(gone.reactions).toBeUndefined();
    expect(gone.deleted).toBe(true);
  });
});

describe("chatReducer: message_deleted", () => {
  it("turns the message into a tombstone in place, its seq kept, and says so in the inbox", () => {
    const state = frame(loaded(), { type: "message_deleted", chat_id: "c1", message_id: "m2", seq: 2 });
    const [first, second] = state.threads.c1.messages;
    expect(first.text).toBe("first");
    expect(second).toMatchObject({ seq: 2, message_id: "m2", text: "", original_text: "", deleted: true });
    expect(state.chats.c1.last_message_preview).toBe(DELETED_PREVIEW);
  });

  it("is not undone by a copy of the message from before the delete, nor by a later edit", () => {
    let state = frame(loaded(), { type: "message_deleted", chat_id: "c1", message_id: "m2", seq: 2 });
    state = frame(state, { type: "message", chat_id: "c1", message: message(2, { text: "second" }) });
    state = frame(state, { type: "message_edited", chat_id: "c1", message: message(2, { text: "back", edited_at: "y" }) });
    expect(state.threads.c1.messages[1].deleted).toBe(true);
    expect(state.threads.c1.messages[1].text).toBe("");
  });
});

describe("messageActions", () => {
  const now = Date.parse("2026-02-01T00:10:00+00:00");
  const group = { kind: "group", created_by: "me" } as ChatDetail;

  it("offers edit on one's own recent text message and delete on one's own", () => {
    const mine = message(1, { from_user_id: "me", timestamp: "2026-02-01T00:00:00+00:00" });
    expect(messageActions(mine, "me", undefined, now)).toEqual({ canEdit: true, canDelete: true });
    expect(messageActions(mine, "me", undefined, Date.parse(mine.timestamp) + EDIT_WINDOW_MS + 1)).toEqual({ canEdit: false, canDelete: true });
    expect(messageActions({ ...mine, kind: "voice_note" }, "me", undefined, now).canEdit).toBe(false);
  });

  it("lets a group's creator delete anyone's message, and nobody change a tombstone", () => {
    const theirs = message(1, { from_user_id: "ana", timestamp: "2026-02-01T00:00:00+00:00" });
    expect(messageActions(theirs, "me", undefined, now)).toEqual({ canEdit: false, canDelete: false });
    expect(messageActions(theirs, "me", group, now)).toEqual({ canEdit: false, canDelete: true });
    expect(messageActions(tombstoneOf(theirs), "me", group, now)).toEqual({ canEdit: false, canDelete: false });
  });
});
