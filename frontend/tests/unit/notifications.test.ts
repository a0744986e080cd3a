import { describe, expect, it } from "vitest";
import { CLOCK_SLACK_MS, NOTIFIED_MEMORY, NotificationGate, notificationTag, truncateBody } from "@/lib/notifications";
import type { ChatSummary, Message } from "@/lib/types";
import { chatSummary, message } from "./fakes";

const T0 = Date.parse("2026-01-01T00:00:30+00:00");

function chat(overrides: Partial<ChatSummary> = {}): ChatSummary {
  return chatSummary({ other_username: "ana_l", ...overrides });
}

const ana = { user_id: "them", username: "ana_l", first_name: "Ana", last_name: "Lima" };

/** A gate whose clock reads `clock.now`, away since T0 unless told otherwise. */
function gate({ away = true, seqs = {} as Record<string, number> } = {}) {
  const clock = { now: T0 };
  const g = new NotificationGate("me", () => clock.now);
  g.setAway(away, () => seqs);
  return { g, clock };
}

/** A message sent `afterMs` after T0. */
function live(seq: number, afterMs: number, overrides: Partial<Message> = {}): Message {
  return message(seq, { timestamp: new Date(T0 + afterMs).toISOString(), ...overrides });
}

function event(msg: Message, overrides: { muted?: boolean; chat?: ChatSummary; members?: (typeof ana)[] } = {}) {
  return { chatId: "c1", message: msg, chat: overrides.chat ?? chat(), members: overrides.members, muted: overrides.muted ?? false };
}

describe("when a message is notified", () => {
  it("notifies a message from someone else while away: the text as delivered, the sender's name, one tag per chat", () => {
    const { g } = gate();
    const msg = live(3, 1_000, { text: "[en] Hola, ¿qué tal?", original_text: "Hola, ¿qué tal?", original_language: "es" });
    expect(g.message(event(msg, { members: [ana] }))).toEqual({
      chatId: "c1",
      title: "Ana Lima",
      body: "[en] Hola, ¿qué tal?",
      tag: notificationTag("c1"),
    });
  });

  it("names the sender by username before the members are loaded, and adds a group's title", () => {
    const { g } = gate();
    expect(g.message(event(live(3, 1_000)))?.title).toBe("ana_l");
    const group = chat({ kind: "group", title: "Trip", other_user_id: null, other_username: null });
    expect(g.message(event(live(4, 1_000), { chat: group, members: [ana] }))?.title).toBe("Ana Lima · Trip");
    expect(g.message(event(live(5, 1_000), { chat: group }))?.title).toBe("Someone · Trip");
  });

  it("stays quiet while the tab is visible and focused", () => {
    const { g } = gate({ away: false });
    expect(g.message(event(live(3, 1_000)))).toBeNull();
  });

  it("stays quiet again once the reader is back", () => {
    const { g } = gate();
    g.setAway(false, () => ({}));
    expect(g.away).toBe(false);
    expect(g.message(event(live(3, 1_000)))).toBeNull();
  });

  it("never notifies my own messages", () => {
    const { g } = gate();
    expect(g.message(event(live(3, 1_000, { from_user_id: "me" })))).toBeNull();
  });

  it("never notifies a muted chat", () => {
    const { g } = gate();
    expect(g.message(event(live(3, 1_000), { muted: true }))).toBeNull();
  });

  it("notifies a message once, however often it arrives", () => {
    const { g } = gate();
    expect(g.message(event(live(3, 1_000)))).not.toBeNull();
    expect(g.message(event(live(3, 1_000)))).toBeNull();
  });

  it("never notifies a message seen on the page before, even when it comes again while away", () => {
    const { g } = gate({ away: false });
    expect(g.message(event(live(3, 1_000)))).toBeNull();
    g.setAway(true, () => ({}));
    expect(g.message(event(live(3, 1_000)))).toBeNull();
  });

  it("never notifies a replayed message the chat already had when the reader went away", () => {
    const { g } = gate({ seqs: { c1: 7 } });
    expect(g.message(event(live(7, 5_000)))).toBeNull();
    expect(g.message(event(live(8, 5_000)))).not.toBeNull();
  });

  it("never notifies a message sent before the reader went away (caught up on reconnect)", () => {
    const { g } = gate();
    expect(g.message(event(live(3, -CLOCK_SLACK_MS - 1)))).toBeNull();
    // within the clock's slack it is taken as live
    expect(g.message(event(live(4, -CLOCK_SLACK_MS + 500)))).not.toBeNull();
  });

  it("measures 'away' from when the reader went away, not from later page events", () => {
    const { g, clock } = gate();
    clock.now = T0 + 60_000;
    g.setAway(true, () => ({ c1: 99 })); // still away: nothing restarts
    expect(g.message(event(live(3, 1_000)))).not.toBeNull();
  });

  it("leaves out call records and a call's spoken turns", () => {
    const { g } = gate();
    expect(g.message(event(live(3, 1_000, { kind: "call" })))).toBeNull();
    expect(g.message(event(live(4, 1_000, { kind: "voice" })))).toBeNull();
    expect(g.message(event(live(5, 1_000, { kind: "voice_note", text: "[en] a voice note" })))?.body).toBe("[en] a voice note");
  });

  it("forgets the oldest ids past its memory", () => {
    const { g } = gate();
    for (let seq = 1; seq <= NOTIFIED_MEMORY + 1; seq++) g.message(event(live(seq, 1_000, { message_id: `id${seq}` })));
    expect(g.message(event(live(1, 1_000, { message_id: "id1" })))).not.toBeNull();
    expect(g.message(event(live(NOTIFIED_MEMORY + 1, 1_000, { message_id: `id${NOTIFIED_MEMORY + 1}` })))).toBeNull();
  });
});

describe("when a call is notified", () => {
  const call = { chatId: "c1", callId: "k1", callerName: "Ana Lima", chat: chat() };

  it("notifies a call that starts ringing while away, once", () => {
    const { g } = gate();
    expect(g.call(call)).toEqual({ chatId: "c1", title: "Incoming call", body: "Ana Lima is calling", tag: notificationTag("c1") });
    expect(g.call(call)).toBeNull();
  });

  it("says which group is calling", () => {
    const { g } = gate();
    expect(g.call({ ...call, chat: chat({ kind: "group", title: "Trip" }), callerName: null })?.body).toBe("Someone is calling in Trip");
  });

  it("rings even in a muted chat, but never for a call already seen ringing on the page", () => {
    expect(gate().g.call({ ...call, chat: chat({ muted: true }) })).not.toBeNull();
    const { g } = gate({ away: false });
    expect(g.call(call)).toBeNull();
    g.setAway(true, () => ({}));
    expect(g.call(call)).toBeNull();
    expect(g.call({ ...call, callId: "k2" })).not.toBeNull();
  });
});

describe("a notification's body", () => {
  it("keeps short text as it is, on one line", () => {
    expect(truncateBody("hola\n  qué tal")).toBe("hola qué tal");
  });

  it("cuts long text at the limit, at a word when one is near", () => {
    const long = "word ".repeat(60);
    const cut = truncateBody(long);
    expect(Array.from(cut).length).toBeLessThanOrEqual(140);
    expect(cut.endsWith("word…")).toBe(true);
    expect(truncateBody("x".repeat(200), 10)).toBe(`${"x".repeat(9)}…`);
  });

  it("never splits an emoji", () => {
    expect(truncateBody("😀".repeat(20), 5)).toBe("😀😀😀😀…");
  });
});
