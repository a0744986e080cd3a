/**
 * Push to talk, the speaker: press → the microphone opens → `ptt_start {chat_id, format}` →
 * the recording streams as binary frames, in order, once the server gives the turn (its
 * `voice_turn` RECORDING naming me) → release → the last chunk, then `ptt_stop`. Escape →
 * `ptt_cancel`. Each press follows the state machine of lib/pttState.ts; this drives the
 * recorder and the socket by it.
 */
import { inCallHere, liveCall, type CallsState } from "./callState";
import { pttAwaitingTurn, pttOpening, pttStartSent, pttTransition, pttTurnGranted, pttVisiblePhase, type PttEvent, type PttState } from "./pttState";
import { microphoneErrorText, type Recorder, type RecorderFactory } from "./recording";
import { chatTurn, type TurnsState } from "./turnState";
import type { ErrorFrame, TurnFrame } from "./types";

export const OFFLINE_PTT = "You're offline. Push-to-talk works again once you're reconnected.";
export const NO_MICROPHONE = "This browser can't record audio here.";
/** Errors the server sends about chunks or a cancel after a turn it already ended: not news. */
const STALE_TURN_ERRORS = [/^No recording in progress/, /^You are not speaking/];
const STALE_WINDOW_MS = 5_000;

/** My press as the button shows it. */
export interface PttLocal {
  chatId: string;
  /** opening: asking for the microphone; starting: ptt_start sent, not confirmed yet;
   *  recording: streaming; stopping: released, the last chunks and ptt_stop going out. */
  phase: "opening" | "starting" | "recording" | "stopping";
  sentBytes: number;
}

/** Push-to-talk's part of the voice snapshot. */
export interface PttSlice {
  ptt: PttLocal | null;
  /** Why the last press did not record, in words. */
  pttError: { chatId: string; text: string } | null;
  /** Bytes of my last turn's recording that went out, per chat. */
  lastSentBytes: Record<string, number>;
}

export interface PushToTalkOptions {
  me: string;
  send: (frame: Record<string, unknown>) => boolean;
  sendBinary: (data: Uint8Array) => boolean;
  isOpen: () => boolean;
  createRecorder?: RecorderFactory;
  now: () => number;
  /** The calls and turns as they stand (whether a press may record). */
  calls: () => CallsState;
  turns: () => TurnsState;
  /** Read and change push-to-talk's part of the voice snapshot. */
  get: () => PttSlice;
  set: (change: Partial<PttSlice>) => void;
}

/** One press of the button: its state, and what drives it. */
interface Press {
  chatId: string;
  state: PttState;
  recorder: Recorder | null;
  /** Recorded before the server gave the turn. */
  held: Array<Blob | Uint8Array>;
  /** Keeps the chunks, and ptt_stop after them, in recording order. */
  chain: Promise<void>;
  sentBytes: number;
}

/** The press is over (the state can change while a chunk is being read). */
function over(press: Press): boolean {
  return press.state.phase === "ended";
}

async function toBytes(chunk: Blob | Uint8Array): Promise<Uint8Array> {
  if (chunk instanceof Uint8Array) return chunk;
  return new Uint8Array(await chunk.arrayBuffer());
}

export class PushToTalk {
  private readonly options: PushToTalkOptions;
  private press: Press | null = null;
  /** chat id -> until when errors about a turn we just left are not news. */
  private staleUntil = new Map<string, number>();

  constructor(options: PushToTalkOptions) {
    this.options = options;
  }

  /** Why pressing push-to-talk in this chat can't record now (null: it can). */
  refusal(chatId: string): string | null {
    if (!this.options.isOpen()) return OFFLINE_PTT;
    const calls = this.options.calls();
    const call = liveCall(calls, chatId);
    if (!call || call.phase !== "active") return "Push-to-talk works once the call is answered.";
    if (!inCallHere(calls, chatId)) return "Join the call to talk.";
    const turn = chatTurn(this.options.turns(), chatId);
    if (turn.phase !== "idle") return turn.speakerId === this.options.me ? "Your last turn is still being translated." : "Someone else has the turn; wait for them to finish.";
    if (!this.options.createRecorder) return NO_MICROPHONE;
    return null;
  }

  /** The button went down: open the microphone and take the turn. */
  async pressDown(chatId: string): Promise<void> {
    if (this.press) return;
    const refusal = this.refusal(chatId);
    const createRecorder = this.options.createRecorder;
    if (refusal || !createRecorder) {
      this.options.set({ pttError: { chatId, text: refusal ?? NO_MICROPHONE } });
      return;
    }
    const press: Press = { chatId, state: pttOpening, recorder: null, held: [], chain: Promise.resolve(), sentBytes: 0 };
    this.press = press;
    this.options.set({ pttError: null });
    this.publish();

    let recorder: Recorder;
    try {
      recorder = await createRecorder();
    } catch (error) {
      if (this.press === press) this.end(press, microphoneErrorText(error));
      return;
    }
    if (this.press !== press || press.state.phase !== "opening") {
      recorder.cancel();
      return;
    }
    press.recorder = recorder;
    if (press.state.released) {
      // Let go while the browser was still asking for the microphone: nothing was said yet.
      recorder.cancel();
      this.end(press, "The microphone is ready: hold the button while you speak.");
      return;
    }
    const refusedNow = this.refusal(chatId);
    if (refusedNow || !this.options.send({ type: "ptt_start", chat_id: chatId, format: recorder.format })) {
      recorder.cancel();
      this.end(press, refusedNow ?? OFFLINE_PTT);
      return;
    }
    this.step(press, { type: "start_sent" });
    try {
      recorder.start((chunk) => this.chunk(press, chunk));
    } catch (error) {
      this.abandon(press, true);
      this.options.set({ pttError: { chatId, text: microphoneErrorText(error) } });
    }
  }

  /** The button came up: send what is left, then ptt_stop. */
  async release(chatId: string): Promise<void> {
    const press = this.press;
    if (!press || press.chatId !== chatId) return;
    const before = press.state;
    this.step(press, { type: "release" });
    // Already let go, or still opening (pressDown finishes it).
    if (press.state === before || press.state.phase === "opening" || !press.recorder) return;
    try {
      await press.recorder.stop();
    } catch {
      // whatever was recorded has been handed over
    }
    this.step(press, { type: "recorder_stopped" });
    if (press.state.phase === "finishing") this.sendStop(press);
    // else: the server's turn sends the held chunks, then ptt_stop
  }

  /** Escape: abandon the recording (or my turn being processed); everyone goes back to idle. */
  cancel(chatId: string): void {
    const press = this.press;
    if (press && press.chatId === chatId) {
      this.abandon(press, true);
      return;
    }
    const turn = chatTurn(this.options.turns(), chatId);
    if (turn.speakerId === this.options.me && turn.phase !== "idle") {
      this.markStale(chatId);
      this.options.send({ type: "ptt_cancel", chat_id: chatId });
    }
  }

  /** I leave the call: a press in it is cancelled. */
  hangUp(chatId: string): void {
    if (this.press?.chatId === chatId) this.cancel(chatId);
  }

  /** The chat's call ended: so did any recording of mine in it (the server knows). */
  callEnded(chatId: string): void {
    if (this.press?.chatId === chatId) this.abandon(this.press, false);
  }

  /** The socket dropped: the server ended my turn itself. */
  connectionLost(): void {
    if (this.press) this.abandon(this.press, false);
  }

  /** The app stops: tell the server. */
  stop(): void {
    if (this.press) this.abandon(this.press, true);
  }

  /** A voice_turn frame, before the turns take it: the server giving me the turn I asked for. */
  turnStarting(frame: TurnFrame): void {
    const press = this.press;
    if (frame.state !== "recording" || !press || !pttAwaitingTurn(press.state)) return;
    if (frame.speaker_id !== this.options.me || frame.chat_id !== press.chatId) return;
    this.step(press, { type: "turn_granted" });
    const held = press.held;
    press.held = [];
    for (const chunk of held) this.sendChunk(press, chunk);
    if (press.state.phase === "finishing") this.sendStop(press);
  }

  /** A voice_turn frame, after the turns took it: my turn ended while I was still recording
   *  (too long, a listener left...). */
  turnEnded(frame: TurnFrame): void {
    const press = this.press;
    if (frame.state !== "idle" || !press || !pttTurnGranted(press.state)) return;
    if (frame.chat_id === press.chatId && frame.speaker_id === this.options.me) this.abandon(press, false);
  }

  /** An error frame; true when it is about a press (a refused ptt_start, chunks of a turn that
   *  is over), which the button already shows. */
  handleError(frame: ErrorFrame): boolean {
    const chatId = frame.chat_id;
    const press = this.press;
    if (press && pttAwaitingTurn(press.state) && (!chatId || chatId === press.chatId)) {
      // ptt_start refused (someone else holds the turn, the call is over...).
      this.abandon(press, false);
      this.options.set({ pttError: { chatId: press.chatId, text: frame.error } });
      return true;
    }
    if (STALE_TURN_ERRORS.some((re) => re.test(frame.error))) {
      const until = chatId ? this.staleUntil.get(chatId) : Math.max(0, ...this.staleUntil.values());
      if (until !== undefined && this.options.now() < until) return true;
    }
    return false;
  }

  // --- driving the machine -----------------------------------------------------------------

  private step(press: Press, event: PttEvent): void {
    const next = pttTransition(press.state, event);
    if (next === press.state) return;
    press.state = next;
    if (this.press === press) {
      if (next.phase === "ended") this.press = null;
      this.publish();
    }
  }

  private publish(): void {
    const press = this.press;
    const phase = press ? pttVisiblePhase(press.state) : null;
    const ptt = press && phase ? { chatId: press.chatId, phase, sentBytes: press.sentBytes } : null;
    const shown = this.options.get().ptt;
    if (shown === ptt || (shown && ptt && shown.chatId === ptt.chatId && shown.phase === ptt.phase && shown.sentBytes === ptt.sentBytes)) return;
    this.options.set({ ptt });
  }

  /** The press is over before it began (no turn to cancel); `error` says why. */
  private end(press: Press, error: string): void {
    this.step(press, { type: "abandon" });
    this.options.set({ pttError: { chatId: press.chatId, text: error } });
  }

  private markStale(chatId: string): void {
    this.staleUntil.set(chatId, this.options.now() + STALE_WINDOW_MS);
  }

  /** Drop the press; tell the server when it had started a turn (`tell`). */
  private abandon(press: Press, tell: boolean): void {
    if (over(press)) return;
    const startSent = pttStartSent(press.state);
    press.held = [];
    try {
      press.recorder?.cancel();
    } catch {
      // already stopped
    }
    this.markStale(press.chatId);
    if (tell && startSent) this.options.send({ type: "ptt_cancel", chat_id: press.chatId });
    this.step(press, { type: "abandon" });
  }

  private chunk(press: Press, chunk: Blob | Uint8Array): void {
    if (over(press)) return;
    if (pttAwaitingTurn(press.state)) press.held.push(chunk);
    else this.sendChunk(press, chunk);
  }

  private sendChunk(press: Press, chunk: Blob | Uint8Array): void {
    press.chain = press.chain.then(async () => {
      if (over(press)) return;
      const bytes = await toBytes(chunk);
      if (over(press) || !bytes.byteLength) return;
      if (this.options.sendBinary(bytes)) {
        press.sentBytes += bytes.byteLength;
        if (this.press === press) this.publish();
      } else {
        // The socket went away: the server ends the turn itself.
        this.abandon(press, false);
        this.options.set({ pttError: { chatId: press.chatId, text: "The connection dropped while you were speaking; try again." } });
      }
    });
  }

  private sendStop(press: Press): void {
    press.chain = press.chain.then(() => {
      if (press.state.phase !== "finishing") return;
      this.options.send({ type: "ptt_stop", chat_id: press.chatId });
      this.options.set({ lastSentBytes: { ...this.options.get().lastSentBytes, [press.chatId]: press.sentBytes } });
      this.step(press, { type: "stop_sent" });
    });
  }
}
