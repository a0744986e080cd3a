import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Backoff } from "@/lib/backoff";
import { chatReducer, initialChatState } from "@/lib/chatState";
import { ChatClient } from "@/lib/client";
import { loadUntil } from "@/lib/jumpToMessage";
import { keepQuote, messageHref, QUOTE_MAX_CHARS, quoteOf, quoteText, seqFromQuery } from "@/lib/replies";
import type { ReplyQuote } from "@/lib/types";
import { FakeSocket, MemoryStorage, chatSummary, connect, fakeApi, me, message, settle } from "./fakes";

const quote: ReplyQuote = { seq: 3, message_id: "m3", from_user_id: "bruno", text: "¿Cenamos mañana?", language: "es" };

describe("replies: quotes", () => {
  it("cuts a long quote as the server does, and leaves a short one alone", () => {
    expect(quoteText("short")).toBe("short");
    const cut = quoteText("x".repeat(500));
    expect(cut).toHaveLength(QUOTE_MAX_CHARS);
    expect(cut.endsWith("…")).toBe(true);
  });

  it("quotes a message as I read it: its text in my language", () => {
    const shown = message(7, { text: "Shall we have dinner?", language: "en", original_text: "¿Cenamos?", original_language: "es", from_user_id: "bruno" });
    expect(quoteOf(shown)).toEqual({ seq: 7, message_id: shown.message_id, from_user_id: "bruno", text: "Shall we have dinner?", language: "en" });
  });

  it("keeps the quote shown when an update carries none, and takes a new one when it does", () => {
    const reply = message(4, { reply_to: quote });
    const updated = message(4, { text: "translated now" });
    expect(keepQuote(reply, updated)).toEqual({ ...updated, reply_to: quote });
    const other = { ...quote, text: "otra" };
    expect(keepQuote(reply, message(4, { reply_to: other })).reply_to).toBe(other);
    expect(keepQuote(message(4), updated)).toBe(updated);
  });

  it("message_updated keeps the reply's quote in the thread", () => {
    let state = chatReducer(initialChatState, { type: "me", userId: "me" });
    state = chatReducer(state, { type: "history_loaded", chatId: "c1", messages: [message(3), message(4, { reply_to: quote })], nextCursor: null, page: "latest" });
    state = chatReducer(state, { type: "frame", now: 0, frame: { type: "message_updated", chat_id: "c1", message: message(4, { text: "now translated" }) } });
    const reply = state.threads.c1.messages.find((m) => m.seq === 4);
    expect(reply?.text).toBe("now translated");
    expect(reply?.reply_to).toEqual(quote);
  });

  it("reads ?at=<seq> only as a positive integer", () => {
    expect(seqFromQuery("?at=42")).toBe(42);
    expect(seqFromQuery("?x=1&at=7")).toBe(7);
    for (const bad of ["", "?at=", "?at=0", "?at=-3", "?at=1.5", "?at=abc", "?at=12abc", "?at=99999999999999999"]) expect(seqFromQuery(bad)).toBeNull();
    expect(messageHref("c 1", 9)).toBe("/chats/c%201?at=9");
  });
});

describe("replies: loading older pages until a message is there", () => {
  function history(loadedFrom: number, pageSize: number) {
    let oldest = loadedFrom;
    const loadOlder = vi.fn(async () => {
      oldest = Math.max(1, oldest - pageSize);
      return oldest > 1;
    });
    return {
      source: { has: (seq: number) => seq >= oldest, oldest: () => oldest, loadOlder },
      loadOlder,
    };
  }

  it("loads nothing when the message is loaded", async () => {
    const { source, loadOlder } = history(100, 50);
    expect(await loadUntil(120, source)).toBe(true);
    expect(loadOlder).not.toHaveBeenCalled();
  });

  it("loads page after page until the message is there, and no further", async () => {
    const { source, loadOlder } = history(300, 50);
    expect(await loadUntil(120, source)).toBe(true);
    expect(loadOlder).toHaveBeenCalledTimes(4); // 250, 200, 150, 100
  });

  it("stops at the beginning of the chat, or after the most pages allowed", async () => {
    const gone = { has: () => false, oldest: () => 5, loadOlder: vi.fn(async () => false) };
    expect(await loadUntil(3, gone)).toBe(false);
    expect(gone.loadOlder).toHaveBeenCalledTimes(1);
    const { source, loadOlder } = history(10_000, 50);
    expect(await loadUntil(1, source, 3)).toBe(false);
    expect(loadOlder).toHaveBeenCalledTimes(3);
  });

  it("does not load for a message newer than the oldest loaded that is not there (deleted)", async () => {
    const holey = { has: () => false, oldest: () => 10, loadOlder: vi.fn(async () => true) };
    expect(await loadUntil(20, holey)).toBe(false);
    expect(holey.loadOlder).not.toHaveBeenCalled();
  });
});

describe("replies: sending one", () => {
  beforeEach(() => {
    FakeSocket.reset();
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it("sends reply_to_seq through the outbox, keeps it across a reload, and shows the quote at the ack", async () => {
    const storage = new MemoryStorage();
    const api = fakeApi({ chats: vi.fn(async () => [chatSummary()]), chat: vi.fn(async () => ({ ...chatSummary(), members: [] })) });
    let online = false;
    const make = () =>
      new ChatClient({ api, me, wsUrl: "ws://api.test", storage, onSessionExpired: vi.fn(), createSocket: (url) => new FakeSocket(url), backoff: new Backoff({ baseMs: 1000, random: () => 1 }), isOnline: () => online });
    const offline = make();
    offline.start();
    await settle();
    const item = offline.send("c1", "Sí, claro", quote);
    offline.stop();

    online = true;
    const client = make();
    const ws = await connect(client);
    await settle();
    expect(ws.framesOfType("send")).toEqual([{ type: "send", chat_id: "c1", text: "Sí, claro", client_msg_id: item.client_msg_id, reply_to_seq: 3 }]);
    ws.receive({ type: "ack", chat_id: "c1", client_msg_id: item.client_msg_id, message_id: "m9", seq: 9, timestamp: "2026-01-01T00:00:01+00:00", duplicate: false });
    expect(client.state.threads.c1.messages.find((m) => m.seq === 9)?.reply_to).toEqual(quote);
    // A message that replies to nothing carries no reply_to_seq.
    client.send("c1", "plain");
    expect(ws.framesOfType("send").at(-1)).not.toHaveProperty("reply_to_seq");
    client.stop();
  });
});
