import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Backoff } from "@/lib/backoff";
import { chatReducer, initialChatState, type ChatState } from "@/lib/chatState";
import { ChatClient } from "@/lib/client";
import { reactionLabel, reactorNames } from "@/lib/reactions";
import type { ReactionUpdatedFrame } from "@/lib/types";
import { FakeSocket, MemoryStorage, chatSummary, connect, fakeApi, me, message, settle } from "./fakes";

function withHistory(): ChatState {
  let state = chatReducer(initialChatState, { type: "me", userId: "me" });
  state = chatReducer(state, { type: "chats_loaded", chats: [chatSummary()] });
  return chatReducer(state, { type: "history_loaded", chatId: "c1", messages: [message(1), message(2)], nextCursor: null, page: "latest" });
}

const updated = (overrides: Partial<ReactionUpdatedFrame> = {}): ReactionUpdatedFrame => ({
  type: "reaction_updated",
  chat_id: "c1",
  seq: 2,
  message_id: "m2",
  user_id: "them",
  reactions: [{ emoji: "👍", count: 2, user_ids: ["me", "them"] }],
  reactions_version: 2,
  ...overrides,
});

const apply = (state: ChatState, frame: ReactionUpdatedFrame) => chatReducer(state, { type: "frame", frame, now: 0 });

describe("chatReducer: reaction_updated", () => {
  it("puts the message's reactions on it, leaving the others alone", () => {
    const before = withHistory();
    const state = apply(before, updated());
    const [first, second] = state.threads.c1.messages;
    expect(second.reactions).toEqual([{ emoji: "👍", count: 2, user_ids: ["me", "them"] }]);
    expect(second.text).toBe("text 2");
    expect(first).toBe(before.threads.c1.messages[0]);
  });

  it("replaces the summary with the latest, and an empty one removes it", () => {
    let state = apply(withHistory(), updated());
    state = apply(state, updated({ reactions: [{ emoji: "❤️", count: 1, user_ids: ["them"] }], reactions_version: 3 }));
    expect(state.threads.c1.messages[1].reactions).toEqual([{ emoji: "❤️", count: 1, user_ids: ["them"] }]);
    state = apply(state, updated({ reactions: [], reactions_version: 4 }));
    expect(state.threads.c1.messages[1].reactions).toBeUndefined();
    expect(state.threads.c1.messages[1].reactions_version).toBe(4);
  });

  it("changes nothing for a message not held, or for a frame no newer than what it holds", () => {
    const state = apply(withHistory(), updated());
    expect(apply(state, updated({ message_id: "m9", seq: 9 }))).toBe(state);
    expect(apply(state, updated())).toBe(state);
    // Two instances' frames crossed: the older state arriving last is dropped.
    expect(apply(state, updated({ reactions: [], reactions_version: 1 }))).toBe(state);
    expect(state.threads.c1.messages[1].reactions).toHaveLength(1);
  });

  it("drops a frame older than the version a history page brought", () => {
    let state = withHistory();
    state = chatReducer(state, { type: "history_loaded", chatId: "c1", messages: [message(2, { reactions: [{ emoji: "😂", count: 1, user_ids: ["them"] }], reactions_version: 5 })], nextCursor: null, page: "latest" });
    expect(apply(state, updated({ reactions_version: 4 }))).toBe(state);
    expect(apply(state, updated({ reactions_version: 6 })).threads.c1.messages[1].reactions?.[0].emoji).toBe("👍");
  });

  it("keeps reactions that arrive with a message (history, message_updated)", () => {
    let state = withHistory();
    state = chatReducer(state, { type: "frame", now: 0, frame: { type: "message_updated", chat_id: "c1", message: message(2, { reactions: [{ emoji: "😂", count: 1, user_ids: ["them"] }] }) } });
    expect(state.threads.c1.messages[1].reactions?.[0].emoji).toBe("😂");
  });
});

describe("chatReducer: a message sent again after a reaction", () => {
  it("keeps the newer reactions when a translation stored before them arrives later", () => {
    let state = apply(withHistory(), updated({ reactions_version: 3 }));
    // The owed translation was stored (with no reactions, version 0) before the reaction.
    state = chatReducer(state, { type: "frame", now: 0, frame: { type: "message_updated", chat_id: "c1", message: message(2, { text: "translated 2" }) } });
    const held = state.threads.c1.messages[1];
    expect(held.text).toBe("translated 2");
    expect(held.reactions).toEqual([{ emoji: "👍", count: 2, user_ids: ["me", "them"] }]);
    expect(held.reactions_version).toBe(3);
  });

  it("takes the reactions a newer copy brings", () => {
    let state = apply(withHistory(), updated({ reactions_version: 3 }));
    state = chatReducer(state, { type: "frame", now: 0, frame: { type: "message_updated", chat_id: "c1", message: message(2, { reactions_version: 4 }) } });
    expect(state.threads.c1.messages[1].reactions).toBeUndefined();
    expect(state.threads.c1.messages[1].reactions_version).toBe(4);
  });
});

describe("reaction words", () => {
  const nameOf = (id: string) => ({ them: "Beto", carla: "Carla" })[id] ?? id;

  it("names who reacted, me first as You", () => {
    expect(reactorNames(["them"], "me", nameOf)).toBe("Beto");
    expect(reactorNames(["carla", "me", "them"], "me", nameOf)).toBe("You, Carla and Beto");
  });

  it("says what pressing a chip does", () => {
    expect(reactionLabel({ emoji: "👍", count: 2, user_ids: ["me", "them"] }, "me", nameOf)).toBe("👍 2 reactions from You and Beto; press to remove yours");
    expect(reactionLabel({ emoji: "👍", count: 1, user_ids: ["them"] }, "me", nameOf)).toBe("👍 1 reaction from Beto; press to react with it too");
  });
});

describe("ChatClient.react", () => {
  beforeEach(() => FakeSocket.reset());
  afterEach(() => vi.useRealTimers());

  it("sends a react frame, and a reaction_updated frame reaches the thread", async () => {
    const client = new ChatClient({
      api: fakeApi({ chats: vi.fn(async () => [chatSummary()]), chat: vi.fn(async () => ({ ...chatSummary(), members: [] })), history: vi.fn(async () => ({ messages: [message(1)], next_cursor: null })) }),
      me,
      wsUrl: "ws://api.test",
      storage: new MemoryStorage(),
      onSessionExpired: vi.fn(),
      createSocket: (url) => new FakeSocket(url),
      backoff: new Backoff({ baseMs: 1000, random: () => 1 }),
    });
    const ws = await connect(client);
    await client.openChat("c1");
    await settle();
    expect(client.react("c1", 1, "👍")).toBe(true);
    expect(ws.framesOfType("react")).toEqual([{ type: "react", chat_id: "c1", seq: 1, emoji: "👍" }]);
    ws.receive(updated({ seq: 1, message_id: "m1", user_id: me.user_id, reactions: [{ emoji: "👍", count: 1, user_ids: [me.user_id] }] }));
    expect(client.getSnapshot().chat.threads.c1.messages[0].reactions).toEqual([{ emoji: "👍", count: 1, user_ids: [me.user_id] }]);
    client.stop();
  });

  it("says so when not connected", async () => {
    const client = new ChatClient({
      api: fakeApi(),
      me,
      wsUrl: "ws://api.test",
      storage: new MemoryStorage(),
      onSessionExpired: vi.fn(),
      createSocket: (url) => new FakeSocket(url),
    });
    expect(client.react("c1", 1, "👍")).toBe(false);
    expect(client.getSnapshot().notice?.text).toMatch(/not sent/);
  });
});
