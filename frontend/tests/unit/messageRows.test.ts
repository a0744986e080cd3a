import { describe, expect, it } from "vitest";
import type { Thread } from "@/lib/chatState";
import { deliveryMarks, isMessageKey, messageRows } from "@/lib/messageRows";
import { message } from "./fakes";

function thread(overrides: Partial<Thread>): Thread {
  return { messages: [], streaming: {}, nextCursor: null, loaded: true, reads: {}, typing: {}, ...overrides };
}

const names: Record<string, string> = { ana: "Ana", bo: "Bo" };
const nameOf = (userId: string) => names[userId] ?? "Someone";

describe("message rows", () => {
  it("a day separator first, runs by sender, and New messages above the first unread from someone else", () => {
    const messages = [message(1, { from_user_id: "me" }), message(2), message(3), message(4)];
    const rows = messageRows({ thread: thread({ messages }), outgoing: [], meId: "me", readMark: 2 });
    expect(rows.map((row) => row.kind)).toEqual(["day", "message", "message", "unread", "message", "message"]);
    expect(rows.filter((row) => row.kind === "message").map((row) => row.first)).toEqual([true, true, true, false]);
  });

  it("no New messages line before anything was read, or when nothing is unread", () => {
    const messages = [message(1), message(2)];
    for (const readMark of [null, 0, 2]) {
      expect(messageRows({ thread: thread({ messages }), outgoing: [], meId: "me", readMark }).some((row) => row.kind === "unread")).toBe(false);
    }
  });

  it("outgoing messages come last, in my run", () => {
    const item = { client_msg_id: "k1", chat_id: "c1", text: "hi", created_at: Date.parse("2026-01-01T00:00:09Z"), status: "queued" as const, attempts: 0 };
    const rows = messageRows({ thread: thread({ messages: [message(1, { from_user_id: "me" })] }), outgoing: [item], meId: "me", readMark: null });
    expect(rows.map((row) => row.kind)).toEqual(["day", "message", "outgoing"]);
    expect(rows.slice(1).map((row) => row.key)).toEqual(["m1", "o-k1"]);
    expect(rows[2]).toMatchObject({ kind: "outgoing", first: false });
  });
});

describe("delivery marks", () => {
  const mine = [message(1, { from_user_id: "me" }), message(2, { from_user_id: "me" })];

  it("Sent on my last message while nobody has read it; Seen on the latest one read", () => {
    const marks = deliveryMarks({ thread: thread({ messages: mine, reads: { ana: 1, me: 2 } }), meId: "me", isGroup: false, nameOf });
    expect(Object.fromEntries(marks)).toEqual({ m2: { state: "sent", label: "Sent" }, m1: { state: "seen", label: "Seen" } });
  });

  it("in a group, Seen by the readers' names", () => {
    const marks = deliveryMarks({ thread: thread({ messages: mine, reads: { ana: 2, bo: 5 } }), meId: "me", isGroup: true, nameOf });
    expect(Object.fromEntries(marks)).toEqual({ m2: { state: "seen", label: "Seen by Ana, Bo" } });
  });

  it("none when I wrote nothing", () => {
    expect(deliveryMarks({ thread: thread({ messages: [message(1)] }), meId: "me", isGroup: false, nameOf }).size).toBe(0);
  });
});

describe("isMessageKey", () => {
  it("is false for a day's separator only", () => {
    const rows = messageRows({ thread: thread({ messages: [message(1)] }), outgoing: [], meId: "me", readMark: null });
    expect(rows.map((row) => isMessageKey(row.key))).toEqual([false, true]);
  });
});
