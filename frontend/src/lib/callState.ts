/**
 * Calls, one per chat at most, as one immutable state and a pure reducer over the server's
 * call frames (apps/voice/events.py) and what this tab asked for.
 *
 * The server ties a call to the socket that started or answered it: when that socket closes,
 * its user leaves the call. So "joined" is per tab: the calls this tab's socket is in. A
 * `call_start` or `call_accept` this tab sent is `pending` until the server's broadcast about
 * it (`call_incoming` from me, `call_accepted` by me) comes back, or an error does.
 */
import { callerName } from "./names";
import type { CallFrame, CallView } from "./types";

export type CallPhase = "ringing" | "active" | "ended";

/** How a call ended, as this tab knows it. */
export type CallOutcome = "missed" | "declined" | "cancelled" | "ended" | "disconnected" | "gone";

export interface Call {
  callId: string;
  chatId: string;
  callerId: string;
  callerName: string | null;
  phase: CallPhase;
  /** Who is in the call (the caller from the start, then whoever answered). */
  participants: string[];
  /** Members who declined a group call that still rings for others. */
  declined: string[];
  startedAt: string | null;
  answeredAt: string | null;
  ringTimeoutSeconds: number | null;
  /** Local time (ms) this tab learnt the call was ringing: a ring nobody ends times out here too. */
  seenAt: number;
  outcome: CallOutcome | null;
  endedBy: string | null;
  durationSeconds: number | null;
}

export interface PendingCallAction {
  action: "start" | "accept";
  callId: string | null;
}

export interface CallsState {
  calls: Record<string, Call>;
  /** chat id -> call id: the calls this tab's socket is in. */
  joined: Record<string, string>;
  /** chat id -> a start or accept this tab sent and the server has not confirmed yet. */
  pending: Record<string, PendingCallAction>;
}

export const initialCallsState: CallsState = { calls: {}, joined: {}, pending: {} };

/** A ring the server never ended for us (a lost frame) is dropped this long after its timeout. */
export const RING_GRACE_MS = 10_000;
const DEFAULT_RING_SECONDS = 30;

export type CallAction =
  | { type: "frame"; frame: CallFrame; me: string; now: number }
  | { type: "pending"; chatId: string; action: "start" | "accept"; callId: string | null }
  | { type: "pending_failed"; chatId: string }
  | { type: "left"; chatId: string }
  | { type: "connection_lost" }
  | { type: "expire"; now: number };

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const next = { ...record };
  delete next[key];
  return next;
}

function fromView(view: CallView, previous: Call | undefined, now: number): Call {
  const same = previous && previous.callId === view.call_id ? previous : undefined;
  return {
    callId: view.call_id,
    chatId: view.chat_id,
    callerId: view.caller_id,
    callerName: same?.callerName ?? null,
    phase: view.state === "active" ? "active" : "ringing",
    participants: [...view.participants],
    declined: same?.declined ?? [],
    startedAt: view.started_at,
    answeredAt: view.answered_at,
    ringTimeoutSeconds: same?.ringTimeoutSeconds ?? null,
    seenAt: same?.seenAt ?? now,
    outcome: null,
    endedBy: null,
    durationSeconds: null,
  };
}

function ended(call: Call, outcome: CallOutcome, extra: Partial<Call> = {}): Call {
  return { ...call, phase: "ended", outcome, ...extra };
}

/** Apply a change to the chat's call if it is the call the frame is about. */
function withCall(state: CallsState, chatId: string, callId: string, change: (call: Call) => Call): CallsState {
  const call = state.calls[chatId];
  if (!call || call.callId !== callId) return state;
  const next = change(call);
  if (next === call) return state;
  let joined = state.joined;
  let pending = state.pending;
  if (next.phase === "ended") {
    joined = state.joined[chatId] === callId ? without(state.joined, chatId) : state.joined;
    pending = without(state.pending, chatId);
  }
  return { calls: { ...state.calls, [chatId]: next }, joined, pending };
}

function applyFrame(state: CallsState, frame: CallFrame, me: string, now: number): CallsState {
  switch (frame.type) {
    case "call_incoming": {
      const call: Call = {
        callId: frame.call_id,
        chatId: frame.chat_id,
        callerId: frame.caller_id,
        callerName: callerName(frame),
        phase: "ringing",
        participants: [frame.caller_id],
        declined: [],
        startedAt: frame.started_at,
        answeredAt: null,
        ringTimeoutSeconds: frame.ring_timeout_seconds,
        seenAt: now,
        outcome: null,
        endedBy: null,
        durationSeconds: null,
      };
      const known = state.calls[frame.chat_id];
      if (known && known.callId === frame.call_id && known.phase !== "ringing") return state; // late
      let joined = state.joined;
      let pending = state.pending;
      if (frame.caller_id === me && state.pending[frame.chat_id]?.action === "start") {
        joined = { ...joined, [frame.chat_id]: frame.call_id };
        pending = without(pending, frame.chat_id);
      }
      return { calls: { ...state.calls, [frame.chat_id]: { ...call, callerName: call.callerName ?? known?.callerName ?? null } }, joined, pending };
    }
    case "call_accepted": {
      let next = state;
      const known = state.calls[frame.chat_id];
      if (!known || known.callId !== frame.call_id) {
        // We missed the ring (joined later, reconnected): learn the call from this frame.
        next = {
          ...state,
          calls: {
            ...state.calls,
            [frame.chat_id]: fromView(
              {
                call_id: frame.call_id,
                chat_id: frame.chat_id,
                caller_id: frame.participants[0] ?? frame.user_id,
                state: "active",
                participants: frame.participants,
                started_at: frame.answered_at ?? "",
                answered_at: frame.answered_at,
                room_name: frame.room_name,
              },
              undefined,
              now,
            ),
          },
        };
      }
      next = withCall(next, frame.chat_id, frame.call_id, (call) => ({
        ...call,
        phase: "active",
        participants: [...frame.participants],
        answeredAt: call.answeredAt ?? frame.answered_at,
      }));
      const pending = next.pending[frame.chat_id];
      if (frame.user_id === me && pending?.action === "accept" && (pending.callId === null || pending.callId === frame.call_id)) {
        next = { ...next, joined: { ...next.joined, [frame.chat_id]: frame.call_id }, pending: without(next.pending, frame.chat_id) };
      }
      return next;
    }
    case "call_declined":
      return withCall(state, frame.chat_id, frame.call_id, (call) =>
        frame.final
          ? ended(call, "declined", { endedBy: frame.user_id })
          : call.declined.includes(frame.user_id)
            ? call
            : { ...call, declined: [...call.declined, frame.user_id] },
      );
    case "call_cancelled":
      return withCall(state, frame.chat_id, frame.call_id, (call) => ended(call, "cancelled", { endedBy: frame.user_id }));
    case "call_missed":
      return withCall(state, frame.chat_id, frame.call_id, (call) => ended(call, "missed"));
    case "call_left": {
      const next = withCall(state, frame.chat_id, frame.call_id, (call) => ({ ...call, participants: [...frame.participants] }));
      if (frame.user_id === me && !frame.participants.includes(me)) {
        return { ...next, joined: next.joined[frame.chat_id] === frame.call_id ? without(next.joined, frame.chat_id) : next.joined };
      }
      return next;
    }
    case "call_ended":
      return withCall(state, frame.chat_id, frame.call_id, (call) =>
        ended(call, "ended", { endedBy: frame.user_id, durationSeconds: frame.duration_seconds }),
      );
    case "call_status": {
      const known = state.calls[frame.chat_id];
      if (!frame.call) {
        if (!known || known.phase === "ended") {
          return { ...state, joined: without(state.joined, frame.chat_id) };
        }
        return {
          calls: { ...state.calls, [frame.chat_id]: ended(known, "gone") },
          joined: without(state.joined, frame.chat_id),
          pending: without(state.pending, frame.chat_id),
        };
      }
      const call = fromView(frame.call, known, now);
      const joined =
        state.joined[frame.chat_id] && state.joined[frame.chat_id] !== call.callId ? without(state.joined, frame.chat_id) : state.joined;
      return { ...state, calls: { ...state.calls, [frame.chat_id]: call }, joined };
    }
    default:
      return state;
  }
}

export function callsReducer(state: CallsState, action: CallAction): CallsState {
  switch (action.type) {
    case "frame":
      return applyFrame(state, action.frame, action.me, action.now);
    case "pending":
      return { ...state, pending: { ...state.pending, [action.chatId]: { action: action.action, callId: action.callId } } };
    case "pending_failed":
      return state.pending[action.chatId] ? { ...state, pending: without(state.pending, action.chatId) } : state;
    case "left": {
      const joined = without(state.joined, action.chatId);
      const pending = without(state.pending, action.chatId);
      if (joined === state.joined && pending === state.pending) return state;
      return { calls: state.calls, joined, pending };
    }
    case "connection_lost": {
      // The server took this tab's socket out of its calls. What became of the others is asked
      // again (call_status) when the socket is back.
      const ids = Object.keys(state.joined);
      if (!ids.length && !Object.keys(state.pending).length) return state;
      const calls = { ...state.calls };
      for (const chatId of ids) {
        const call = calls[chatId];
        if (call && call.phase !== "ended" && call.callId === state.joined[chatId]) calls[chatId] = ended(call, "disconnected");
      }
      return { calls, joined: {}, pending: {} };
    }
    case "expire": {
      let changed = false;
      const calls = { ...state.calls };
      let joined = state.joined;
      let pending = state.pending;
      for (const [chatId, call] of Object.entries(state.calls)) {
        if (call.phase !== "ringing") continue;
        const limit = call.seenAt + (call.ringTimeoutSeconds ?? DEFAULT_RING_SECONDS) * 1000 + RING_GRACE_MS;
        if (action.now >= limit) {
          calls[chatId] = ended(call, "missed");
          joined = without(joined, chatId);
          pending = without(pending, chatId);
          changed = true;
        }
      }
      return changed ? { calls, joined, pending } : state;
    }
    default:
      return state;
  }
}

// --- reading the state ---------------------------------------------------------------------------

/** The chat's call while it rings or goes on (not one that ended). */
export function liveCall(state: CallsState, chatId: string): Call | null {
  const call = state.calls[chatId];
  return call && call.phase !== "ended" ? call : null;
}

/** Calls ringing for me: someone else calls, and I have neither answered nor declined. */
export function incomingCalls(state: CallsState, me: string): Call[] {
  return Object.values(state.calls)
    .filter((c) => c.phase === "ringing" && c.callerId !== me && !c.participants.includes(me) && !c.declined.includes(me))
    .sort((a, b) => a.seenAt - b.seenAt);
}

/** Is this tab in the chat's call (so it may talk, and must hang up)? */
export function inCallHere(state: CallsState, chatId: string): boolean {
  const call = state.calls[chatId];
  return Boolean(call && call.phase !== "ended" && state.joined[chatId] === call.callId);
}

/** Whether anything changes with time alone (a ring to time out). */
export function callsExpiring(state: CallsState): boolean {
  return Object.values(state.calls).some((c) => c.phase === "ringing");
}

export function durationLabel(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  const mm = hours ? String(minutes).padStart(2, "0") : String(minutes);
  return `${hours ? `${hours}:` : ""}${mm}:${String(secs).padStart(2, "0")}`;
}

/** The call's state in words, from this user's point of view. */
export function callStatusText(call: Call | null, me: string, nameOf: (userId: string) => string, now: number, hereInCall: boolean): string {
  if (!call) return "No call";
  switch (call.phase) {
    case "ringing":
      if (call.callerId === me) return hereInCall ? "Calling…" : "Calling from another tab or device…";
      return `${call.callerName || nameOf(call.callerId)} is calling…`;
    case "active": {
      const since = call.answeredAt ? Date.parse(call.answeredAt) : NaN;
      const elapsed = Number.isFinite(since) ? durationLabel((now - since) / 1000) : null;
      const where = call.participants.includes(me) && !hereInCall ? " (you're in it on another tab or device)" : "";
      return `In call${elapsed ? ` · ${elapsed}` : ""}${where}`;
    }
    case "ended":
      switch (call.outcome) {
        case "missed":
          return call.callerId === me ? "No answer" : "Missed call";
        case "declined":
          return call.callerId === me ? "Call declined" : "You declined the call";
        case "cancelled":
          return call.callerId === me ? "Call cancelled" : "Missed call (cancelled)";
        case "disconnected":
          return "You were disconnected, so you left the call";
        case "gone":
          return "The call is over";
        default:
          return call.durationSeconds !== null ? `Call ended · ${durationLabel(call.durationSeconds)}` : "Call ended";
      }
  }
}
