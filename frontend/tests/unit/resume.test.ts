import { describe, expect, it } from "vitest";
import { chatReducer, contiguousSeq, initialChatState, type ChatState } from "@/lib/chatState";
import { gapBefore, resumeCursors } from "@/lib/resume";
import type { ChatSummary } from "@/lib/types";
import { message } from "./fakes";

function chat(id: string, lastSeq: number, updated: string): ChatSummary {
  return { chat_id: id, other_username: id, other_user_id: `u-${id}`, last_message_preview: null, updated_at: updated, kind: "direct", title: null, last_seq: lastSeq, last_read_seq: 0, unread_count: 0, muted: false };
}

function stateWith(chats: ChatSummary[]): ChatState {
  const state = chatReducer(initialChatState, { type: "me", userId: "me" });
  return chatReducer(state, { type: "chats_loaded", chats });
}

describe("contiguousSeq", () => {
  it("is the last seq before the first hole", () => {
    expect(contiguousSeq([])).toBe(0);
    expect(contiguousSeq([message(3), message(4), message(5)])).toBe(5);
    expect(contiguousSeq([message(3), message(4), message(7)])).toBe(4);
  });
});

describe("resumeCursors", () => {
  it("uses what a loaded chat holds without holes, and the inbox's last seq for the rest", () => {
    let state = stateWith([chat("a", 10, "2026-01-02"), chat("b", 4, "2026-01-01"), chat("c", 0, "2026-01-03")]);
    state = chatReducer(state, { type: "history_loaded", chatId: "a", messages: [message(5), message(6), message(7)], nextCursor: "x", page: "latest" });
    // a live message arrived after a hole: resume from before the hole
    state = chatReducer(state, { type: "frame", frame: { type: "message", chat_id: "a", message: message(9) }, now: 0 });
    expect(resumeCursors(state)).toEqual({ a: 7, b: 4, c: 0 });
  });

  it("asks for everything in a loaded chat that was empty", () => {
    let state = stateWith([chat("a", 0, "2026-01-01")]);
    state = chatReducer(state, { type: "history_loaded", chatId: "a", messages: [], nextCursor: null, page: "latest" });
    expect(resumeCursors(state)).toEqual({ a: 0 });
  });

  it("tracks live messages in the inbox's last seq for chats not open", () => {
    let state = stateWith([chat("a", 2, "2026-01-01")]);
    state = chatReducer(state, { type: "frame", frame: { type: "message", chat_id: "a", message: message(3) }, now: 0 });
    expect(resumeCursors(state)).toEqual({ a: 3 });
  });

  it("sends at most the limit, most recent chats first", () => {
    const chats = Array.from({ length: 5 }, (_, i) => chat(`c${i}`, i, `2026-01-0${i + 1}`));
    expect(Object.keys(resumeCursors(stateWith(chats), 2))).toEqual(["c4", "c3"]);
  });

  it("is empty without chats", () => {
    expect(resumeCursors(stateWith([]))).toEqual({});
  });
});

describe("gapBefore", () => {
  it("finds a hole between what a loaded chat holds and an arriving message", () => {
    let state = stateWith([chat("a", 3, "2026-01-01")]);
    expect(gapBefore(state, "a", 9)).toBeNull(); // not loaded: nothing to keep whole
    state = chatReducer(state, { type: "history_loaded", chatId: "a", messages: [message(2), message(3)], nextCursor: null, page: "latest" });
    expect(gapBefore(state, "a", 4)).toBeNull();
    expect(gapBefore(state, "a", 3)).toBeNull();
    expect(gapBefore(state, "a", 6)).toEqual({ after: 3, upTo: 5 });
  });
});
