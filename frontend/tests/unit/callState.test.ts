import { describe, expect, it } from "vitest";
import {
  callStatusText,
  callsReducer,
  durationLabel,
  inCallHere,
  incomingCalls,
  initialCallsState,
  liveCall,
  RING_GRACE_MS,
  type CallAction,
  type CallsState,
} from "@/lib/callState";
import type { CallFrame } from "@/lib/types";

const ME = "me";
const ALICE = "alice";

function apply(state: CallsState, ...actions: CallAction[]): CallsState {
  return actions.reduce(callsReducer, state);
}

function frame(f: CallFrame, now = 1000): CallAction {
  return { type: "frame", frame: f, me: ME, now };
}

const incoming = (callerId = ALICE, callId = "k1", chatId = "c1"): CallFrame => ({
  type: "call_incoming",
  chat_id: chatId,
  call_id: callId,
  caller_id: callerId,
  caller_name: callerId === ME ? "Me Myself" : "Alice Smith",
  caller_username: callerId,
  room_name: `chat-${chatId}`,
  started_at: "2026-01-01T00:00:00+00:00",
  ring_timeout_seconds: 30,
});

const accepted = (userId: string, participants: string[], callId = "k1"): CallFrame => ({
  type: "call_accepted",
  chat_id: "c1",
  call_id: callId,
  user_id: userId,
  participants,
  room_name: "chat-c1",
  answered_at: "2026-01-01T00:00:05+00:00",
});

const names = (id: string) => ({ me: "You", alice: "Alice", bob: "Bob" })[id] ?? "Someone";

describe("ringing and answering", () => {
  it("rings for me when someone else calls, until I answer; my answer joins this tab", () => {
    let state = apply(initialCallsState, frame(incoming()));
    expect(incomingCalls(state, ME).map((c) => c.callId)).toEqual(["k1"]);
    expect(liveCall(state, "c1")?.callerName).toBe("Alice Smith");
    expect(callStatusText(liveCall(state, "c1"), ME, names, 0, false)).toBe("Alice Smith is calling…");

    state = apply(state, { type: "pending", chatId: "c1", action: "accept", callId: "k1" }, frame(accepted(ME, [ALICE, ME])));
    expect(incomingCalls(state, ME)).toEqual([]);
    expect(liveCall(state, "c1")).toMatchObject({ phase: "active", participants: [ALICE, ME], answeredAt: "2026-01-01T00:00:05+00:00" });
    expect(inCallHere(state, "c1")).toBe(true);
    expect(state.pending).toEqual({});
    const at = Date.parse("2026-01-01T00:01:10+00:00");
    expect(callStatusText(liveCall(state, "c1"), ME, names, at, true)).toBe("In call · 1:05");
  });

  it("an answer from my other tab does not put this tab in the call", () => {
    const state = apply(initialCallsState, frame(incoming()), frame(accepted(ME, [ALICE, ME])));
    expect(liveCall(state, "c1")?.phase).toBe("active");
    expect(inCallHere(state, "c1")).toBe(false);
    expect(callStatusText(liveCall(state, "c1"), ME, names, 0, false)).toContain("another tab or device");
  });

  it("the tab that sent call_start is in the call its ring announces; my other tabs only see it", () => {
    const caller = apply(initialCallsState, { type: "pending", chatId: "c1", action: "start", callId: null }, frame(incoming(ME)));
    expect(inCallHere(caller, "c1")).toBe(true);
    expect(incomingCalls(caller, ME)).toEqual([]); // my own call never rings for me
    expect(callStatusText(liveCall(caller, "c1"), ME, names, 0, true)).toBe("Calling…");

    const otherTab = apply(initialCallsState, frame(incoming(ME)));
    expect(inCallHere(otherTab, "c1")).toBe(false);
    expect(incomingCalls(otherTab, ME)).toEqual([]);
  });

  it("learns an active call it never saw ring from call_accepted", () => {
    const state = apply(initialCallsState, frame(accepted("bob", [ALICE, "bob"], "k9")));
    expect(liveCall(state, "c1")).toMatchObject({ callId: "k9", phase: "active", participants: [ALICE, "bob"] });
  });
});

describe("how calls end", () => {
  it("a final decline ends the call; a group decline only marks who declined", () => {
    let state = apply(initialCallsState, frame(incoming()));
    state = apply(state, frame({ type: "call_declined", chat_id: "c1", call_id: "k1", user_id: "bob", final: false }));
    expect(liveCall(state, "c1")?.declined).toEqual(["bob"]);
    state = apply(state, frame({ type: "call_declined", chat_id: "c1", call_id: "k1", user_id: ME, final: true }));
    expect(liveCall(state, "c1")).toBeNull();
    expect(state.calls.c1).toMatchObject({ phase: "ended", outcome: "declined", endedBy: ME });
    expect(callStatusText(state.calls.c1, ME, names, 0, false)).toBe("You declined the call");
  });

  it("cancel, miss and hang-up each end the call and take this tab out of it", () => {
    const start: CallAction = { type: "pending", chatId: "c1", action: "start", callId: null };
    const cancelled = apply(initialCallsState, start, frame(incoming(ME)), frame({ type: "call_cancelled", chat_id: "c1", call_id: "k1", user_id: ME }));
    expect(cancelled.calls.c1.outcome).toBe("cancelled");
    expect(cancelled.joined).toEqual({});

    const missed = apply(initialCallsState, start, frame(incoming(ME)), frame({ type: "call_missed", chat_id: "c1", call_id: "k1", caller_id: ME }));
    expect(callStatusText(missed.calls.c1, ME, names, 0, false)).toBe("No answer");

    const ended = apply(
      initialCallsState,
      start,
      frame(incoming(ME)),
      frame(accepted(ALICE, [ME, ALICE])),
      frame({ type: "call_ended", chat_id: "c1", call_id: "k1", user_id: ALICE, reason: "hangup", duration_seconds: 75 }),
    );
    expect(ended.calls.c1).toMatchObject({ phase: "ended", outcome: "ended", durationSeconds: 75, endedBy: ALICE });
    expect(inCallHere(ended, "c1")).toBe(false);
    expect(callStatusText(ended.calls.c1, ME, names, 0, false)).toBe("Call ended · 1:15");
  });

  it("frames about another call of the chat, or a late ring, change nothing", () => {
    const ended = apply(initialCallsState, frame(incoming()), frame({ type: "call_missed", chat_id: "c1", call_id: "k1", caller_id: ALICE }));
    expect(apply(ended, frame(incoming()))).toBe(ended);
    expect(apply(ended, frame({ type: "call_cancelled", chat_id: "c1", call_id: "other", user_id: ALICE }))).toBe(ended);
  });

  it("a participant leaving a group call updates who is in it", () => {
    const state = apply(
      initialCallsState,
      frame(incoming()),
      { type: "pending", chatId: "c1", action: "accept", callId: "k1" },
      frame(accepted(ME, [ALICE, ME])),
      frame(accepted("bob", [ALICE, ME, "bob"])),
      frame({ type: "call_left", chat_id: "c1", call_id: "k1", user_id: ALICE, participants: [ME, "bob"] }),
    );
    expect(liveCall(state, "c1")?.participants).toEqual([ME, "bob"]);
    expect(inCallHere(state, "c1")).toBe(true);
  });
});

describe("status, connection and time", () => {
  it("call_status null ends a call we thought was on; a view replaces what we knew", () => {
    let state = apply(initialCallsState, frame(incoming()));
    state = apply(state, frame({ type: "call_status", chat_id: "c1", call: null }));
    expect(state.calls.c1.outcome).toBe("gone");

    state = apply(
      state,
      frame({
        type: "call_status",
        chat_id: "c1",
        call: {
          call_id: "k2",
          chat_id: "c1",
          caller_id: ALICE,
          state: "active",
          participants: [ALICE, "bob"],
          started_at: "2026-01-01T00:00:00+00:00",
          answered_at: "2026-01-01T00:00:03+00:00",
          room_name: "chat-c1",
        },
      }),
    );
    expect(liveCall(state, "c1")).toMatchObject({ callId: "k2", phase: "active", participants: [ALICE, "bob"] });
  });

  it("a dropped socket takes this tab out of its calls (the server ended them) and forgets pending actions", () => {
    const state = apply(
      initialCallsState,
      { type: "pending", chatId: "c1", action: "start", callId: null },
      frame(incoming(ME)),
      frame(accepted(ALICE, [ME, ALICE])),
      frame(incoming(ALICE, "k7", "c2")),
      { type: "pending", chatId: "c2", action: "accept", callId: "k7" },
      { type: "connection_lost" },
    );
    expect(state.calls.c1.outcome).toBe("disconnected");
    expect(liveCall(state, "c2")?.phase).toBe("ringing"); // not ours: asked again after reconnecting
    expect(state.joined).toEqual({});
    expect(state.pending).toEqual({});
  });

  it("a ring nobody ended for us times out locally, after the server's timeout and a grace", () => {
    const state = apply(initialCallsState, frame(incoming(), 1_000));
    expect(apply(state, { type: "expire", now: 1_000 + 30_000 })).toBe(state);
    const expired = apply(state, { type: "expire", now: 1_000 + 30_000 + RING_GRACE_MS });
    expect(expired.calls.c1).toMatchObject({ phase: "ended", outcome: "missed" });
  });

  it("a failed start or accept is no longer pending", () => {
    const state = apply(initialCallsState, { type: "pending", chatId: "c1", action: "start", callId: null }, { type: "pending_failed", chatId: "c1" });
    expect(state.pending).toEqual({});
  });

  it("durations read like a clock", () => {
    expect(durationLabel(0)).toBe("0:00");
    expect(durationLabel(65)).toBe("1:05");
    expect(durationLabel(3725)).toBe("1:02:05");
  });
});
