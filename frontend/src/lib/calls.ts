/**
 * Calls over the chat socket: `call_start`, `call_accept`, `call_decline`, `call_end` out; the
 * server's call frames in (their state: lib/callState.ts). `call_status` is asked for the chats
 * on screen and, after a reconnect, for every chat with a call we knew of.
 */
import { callsExpiring, callsReducer, liveCall, type CallAction, type CallsState } from "./callState";
import type { CallFrame, ErrorFrame } from "./types";

export const OFFLINE_CALL = "You're offline. Calls work again once you're reconnected.";

/** Calls' part of the voice snapshot. */
export interface CallsSlice {
  calls: CallsState;
}

export interface CallsOptions {
  me: string;
  send: (frame: Record<string, unknown>) => boolean;
  isOpen: () => boolean;
  /** Tell the user something (the app's toast). */
  notify: (text: string) => void;
  now: () => number;
  get: () => CallsSlice;
  set: (change: Partial<CallsSlice>) => void;
}

export class Calls {
  private readonly options: CallsOptions;
  private watched = new Set<string>();

  constructor(options: CallsOptions) {
    this.options = options;
  }

  private get state(): CallsState {
    return this.options.get().calls;
  }

  private apply(action: CallAction): void {
    const next = callsReducer(this.state, action);
    if (next !== this.state) this.options.set({ calls: next });
  }

  /** A call frame from the server; true when it ended the chat's call. */
  handleFrame(frame: CallFrame): boolean {
    const before = this.state.calls[frame.chat_id];
    this.apply({ type: "frame", frame, me: this.options.me, now: this.options.now() });
    const after = this.state.calls[frame.chat_id];
    return Boolean(after && after.phase === "ended" && before && before.phase !== "ended");
  }

  /** An error frame about a call: the refused action is no longer pending, and the call is
   *  shown as it stands. */
  handleError(frame: ErrorFrame): void {
    const chatId = frame.chat_id;
    if (chatId && this.state.pending[chatId]) this.apply({ type: "pending_failed", chatId });
    if (chatId && frame.call) {
      this.apply({ type: "frame", frame: { type: "call_status", chat_id: chatId, call: frame.call }, me: this.options.me, now: this.options.now() });
    } else if (chatId && frame.call_id) {
      // A call action came too late (answered elsewhere, already over): see where it stands.
      this.status(chatId);
    }
  }

  /** The socket is open (again): ask where the calls we know of, and the chats on screen, stand. */
  handleOpen(): void {
    const chats = new Set<string>(this.watched);
    for (const chatId of Object.keys(this.state.calls)) chats.add(chatId);
    for (const chatId of chats) this.status(chatId);
  }

  /** The socket dropped: the server took us out of our calls. */
  connectionLost(): void {
    this.apply({ type: "connection_lost" });
  }

  /** Every second or so: rings nobody ended time out. */
  tick(): void {
    if (callsExpiring(this.state)) this.apply({ type: "expire", now: this.options.now() });
  }

  /** Keep this chat's call state current (its conversation or call page is on screen). */
  watch(chatId: string): () => void {
    this.watched.add(chatId);
    this.status(chatId);
    return () => this.watched.delete(chatId);
  }

  private status(chatId: string): void {
    if (this.options.isOpen()) this.options.send({ type: "call_status", chat_id: chatId });
  }

  /** Ring the chat's other members. False (and the user told why) when it can't be done now. */
  start(chatId: string): boolean {
    if (liveCall(this.state, chatId)) return true;
    return this.sendAction(chatId, { type: "pending", chatId, action: "start", callId: null }, { type: "call_start", chat_id: chatId });
  }

  accept(chatId: string): boolean {
    const call = liveCall(this.state, chatId);
    if (!call) return false;
    return this.sendAction(chatId, { type: "pending", chatId, action: "accept", callId: call.callId }, { type: "call_accept", chat_id: chatId, call_id: call.callId });
  }

  /** A pending action shown at once, undone (and the user told) when the frame can't go out. */
  private sendAction(chatId: string, pending: CallAction, frame: Record<string, unknown>): boolean {
    if (!this.options.isOpen()) {
      this.options.notify(OFFLINE_CALL);
      return false;
    }
    this.apply(pending);
    if (!this.options.send(frame)) {
      this.apply({ type: "pending_failed", chatId });
      this.options.notify(OFFLINE_CALL);
      return false;
    }
    return true;
  }

  decline(chatId: string): void {
    const call = liveCall(this.state, chatId);
    if (!call) return;
    if (!this.options.send({ type: "call_decline", chat_id: chatId, call_id: call.callId })) this.options.notify(OFFLINE_CALL);
  }

  /** Leave the call (a ringing call is cancelled or declined by the server). */
  hangUp(chatId: string): void {
    const call = liveCall(this.state, chatId);
    if (!call) return;
    this.options.send({ type: "call_end", chat_id: chatId, call_id: call.callId });
    this.apply({ type: "left", chatId });
  }
}
