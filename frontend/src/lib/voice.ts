/**
 * Calls and push-to-talk over the chat socket, framework-free (React reads it through
 * subscribe/getSnapshot; unit tests drive it with a fake socket and a fake recorder).
 *
 * - Calls: `call_start`, `call_accept`, `call_decline`, `call_cancel`, `call_end` out; the
 *   server's call frames in (lib/callState.ts). `call_status` is asked for the chats on screen
 *   and, after a reconnect, for every chat with a call we knew of.
 * - Push to talk: press → the microphone opens → `ptt_start {chat_id, format}` → the recording
 *   streams as binary frames, in order, once the server confirms the turn (its `voice_turn`
 *   RECORDING naming me) → release → the last chunk, then `ptt_stop`. Escape → `ptt_cancel`.
 *   The shared turn state comes from `voice_turn` frames (lib/turnState.ts).
 * - Listening: `voice_audio` frames (base64 JSON) are put in order per turn
 *   (lib/audioStream.ts) and handed to the audio sink (the page's player) as they come.
 */
import { AudioAssembler, base64ToBytes } from "./audioStream";
import { callsExpiring, callsReducer, inCallHere, initialCallsState, liveCall, type CallAction, type CallsState } from "./callState";
import { microphoneErrorText } from "./recording";
import { chatTurn, initialTurnsState, turnsReducer, type TurnAction, type TurnsState } from "./turnState";
import type { AudioFrame, CallFrame, ErrorFrame, TurnFrame, VoiceFrame } from "./types";

/** A microphone recording in progress (lib/mediaRecorder.ts in the browser). */
export interface Recorder {
  readonly mimeType: string;
  /** The backend's name for the format (ptt_start `format`). */
  readonly format: string;
  /** Start; chunks come in order as they are recorded. */
  start(onChunk: (chunk: Blob | Uint8Array) => void): void;
  /** Stop; resolves once the last chunk has been handed to onChunk. */
  stop(): Promise<void>;
  /** Stop and drop what is left; the microphone is released. */
  cancel(): void;
}

/** Opens the microphone (asking for permission the first time); rejects with the browser's error. */
export type RecorderFactory = () => Promise<Recorder>;

/** Where listeners' synthesized speech goes: the page's audio player. */
export interface AudioSink {
  begin(turnId: string, mime: string): void;
  push(turnId: string, chunk: Uint8Array): void;
  /** Every chunk is in; `whole` is the turn's audio, for "play again". */
  end(turnId: string, whole: Uint8Array): void;
  /** The turn ended without its audio (cancelled, failed before any came). */
  abort(turnId: string): void;
}

export type PlaybackState = "idle" | "buffering" | "playing" | "blocked" | "error";

export interface PlaybackStatus {
  state: PlaybackState;
  turnId: string | null;
  /** What went wrong, in words (state "error" or "blocked"). */
  error: string | null;
  /** How the current or last turn plays: appended chunk by chunk as it arrives (Media Source
   *  Extensions), or as a whole once complete (browsers without MSE for the type). */
  mode: "stream" | "whole" | null;
  /** How many times speech played to the end (turns as they came, and replays). */
  played: number;
  /** turn id -> object URL of the whole turn's audio ("play again"). */
  replays: Record<string, string>;
}

export interface PttLocal {
  chatId: string;
  /** opening: asking for the microphone; starting: ptt_start sent, not confirmed yet;
   *  recording: streaming; stopping: released, the last chunks and ptt_stop going out. */
  phase: "opening" | "starting" | "recording" | "stopping";
  sentBytes: number;
}

export interface AudioStats {
  bytes: number;
  chunks: number;
  /** Turns whose audio arrived complete. */
  turns: number;
}

export interface VoiceSnapshot {
  calls: CallsState;
  turns: TurnsState;
  ptt: PttLocal | null;
  /** Why the last press did not record, in words. */
  pttError: { chatId: string; text: string } | null;
  /** Bytes of my last turn's recording that went out, per chat. */
  lastSentBytes: Record<string, number>;
  /** Synthesized speech received, per chat. */
  audio: Record<string, AudioStats>;
  playback: PlaybackStatus;
}

export interface VoiceClientOptions {
  /** My user id. */
  me: string;
  send: (frame: Record<string, unknown>) => boolean;
  sendBinary: (data: Uint8Array) => boolean;
  isOpen: () => boolean;
  /** Tell the user something (the app's toast). */
  notify: (text: string) => void;
  createRecorder?: RecorderFactory;
  now?: () => number;
}

export const OFFLINE_CALL = "You're offline. Calls work again once you're reconnected.";
export const OFFLINE_PTT = "You're offline. Push-to-talk works again once you're reconnected.";
export const NO_MICROPHONE = "This browser can't record audio here.";
/** Errors the server sends about chunks or a cancel after a turn it already ended: not news. */
const STALE_TURN_ERRORS = [/^No recording in progress/, /^You are not speaking/];
const STALE_WINDOW_MS = 5_000;
const DEFAULT_AUDIO_MIME = "audio/mpeg";

interface PttSession {
  chatId: string;
  phase: PttLocal["phase"];
  recorder: Recorder | null;
  startSent: boolean;
  confirmed: boolean;
  released: boolean;
  recorderStopped: boolean;
  cancelled: boolean;
  stopSent: boolean;
  buffered: Array<Blob | Uint8Array>;
  chain: Promise<void>;
  sentBytes: number;
}

async function toBytes(chunk: Blob | Uint8Array): Promise<Uint8Array> {
  if (chunk instanceof Uint8Array) return chunk;
  return new Uint8Array(await chunk.arrayBuffer());
}

export const idlePlayback: PlaybackStatus = { state: "idle", turnId: null, error: null, mode: null, played: 0, replays: {} };

export class VoiceClient {
  private readonly options: VoiceClientOptions;
  private snapshot: VoiceSnapshot = {
    calls: initialCallsState,
    turns: initialTurnsState,
    ptt: null,
    pttError: null,
    lastSentBytes: {},
    audio: {},
    playback: idlePlayback,
  };
  private listeners = new Set<() => void>();
  private session: PttSession | null = null;
  private sink: AudioSink | null = null;
  private assemblers = new Map<string, AudioAssembler>();
  private assembledDone: string[] = [];
  private watched = new Set<string>();
  /** chat id -> until when errors about a turn we just left are not news. */
  private staleUntil = new Map<string, number>();

  constructor(options: VoiceClientOptions) {
    this.options = options;
  }

  // --- store plumbing ------------------------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): VoiceSnapshot => this.snapshot;

  private update(change: Partial<VoiceSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...change };
    for (const listener of this.listeners) listener();
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  private calls(action: CallAction): void {
    const next = callsReducer(this.snapshot.calls, action);
    if (next !== this.snapshot.calls) this.update({ calls: next });
  }

  private turns(action: TurnAction): void {
    const next = turnsReducer(this.snapshot.turns, action);
    if (next !== this.snapshot.turns) this.update({ turns: next });
  }

  get me(): string {
    return this.options.me;
  }

  // --- socket events -------------------------------------------------------------------------

  /** A voice frame from the server. */
  handleFrame(frame: VoiceFrame): void {
    switch (frame.type) {
      case "voice_turn":
        this.handleTurn(frame);
        return;
      case "voice_audio":
        this.handleAudio(frame);
        return;
      default:
        this.handleCall(frame);
    }
  }

  /**
   * An error frame. True when it is about something voice already shows (a refused push to
   * talk, chunks of a turn that is over); false when the app should still tell the user.
   */
  handleError(frame: ErrorFrame): boolean {
    const chatId = frame.chat_id;
    const session = this.session;
    if (session && session.startSent && !session.confirmed && (!chatId || chatId === session.chatId)) {
      // ptt_start refused (someone else holds the turn, the call is over...).
      this.pttAbandon(session, false);
      this.update({ pttError: { chatId: session.chatId, text: frame.error } });
      return true;
    }
    if (STALE_TURN_ERRORS.some((re) => re.test(frame.error))) {
      const until = chatId ? this.staleUntil.get(chatId) : Math.max(0, ...this.staleUntil.values());
      if (until !== undefined && this.now() < until) return true;
    }
    if (chatId && this.snapshot.calls.pending[chatId]) this.calls({ type: "pending_failed", chatId });
    if (chatId && frame.call) {
      this.calls({ type: "frame", frame: { type: "call_status", chat_id: chatId, call: frame.call }, me: this.me, now: this.now() });
    } else if (chatId && frame.call_id) {
      // A call action came too late (answered elsewhere, already over): see where it stands.
      this.status(chatId);
    }
    return false;
  }

  /** The socket is open (again): ask where the calls we know of, and the chats on screen, stand. */
  handleOpen(): void {
    const chats = new Set<string>(this.watched);
    for (const chatId of Object.keys(this.snapshot.calls.calls)) chats.add(chatId);
    for (const chatId of chats) this.status(chatId);
  }

  /** The socket dropped: the server took us out of our calls and ended our turn. */
  connectionLost(): void {
    if (this.session) this.pttAbandon(this.session, false);
    for (const assembler of this.assemblers.values()) this.sink?.abort(assembler.turnId);
    this.assemblers.clear();
    this.calls({ type: "connection_lost" });
    this.turns({ type: "reset" });
  }

  /** Every second or so: rings nobody ended time out. */
  tick(): void {
    if (callsExpiring(this.snapshot.calls)) this.calls({ type: "expire", now: this.now() });
  }

  stop(): void {
    if (this.session) this.pttAbandon(this.session, true);
    this.sink = null;
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

  // --- calls ---------------------------------------------------------------------------------

  private handleCall(frame: CallFrame): void {
    const before = this.snapshot.calls.calls[frame.chat_id];
    this.calls({ type: "frame", frame, me: this.me, now: this.now() });
    const after = this.snapshot.calls.calls[frame.chat_id];
    if (after && after.phase === "ended" && before && before.phase !== "ended") {
      // The call is over: so is any turn in it, and any recording of ours.
      this.turns({ type: "reset", chatId: frame.chat_id });
      if (this.session?.chatId === frame.chat_id) this.pttAbandon(this.session, false);
    }
  }

  /** Ring the chat's other members. False (and the user told why) when it can't be done now. */
  startCall(chatId: string): boolean {
    if (liveCall(this.snapshot.calls, chatId)) return true;
    if (!this.options.isOpen()) {
      this.options.notify(OFFLINE_CALL);
      return false;
    }
    this.calls({ type: "pending", chatId, action: "start", callId: null });
    if (!this.options.send({ type: "call_start", chat_id: chatId })) {
      this.calls({ type: "pending_failed", chatId });
      this.options.notify(OFFLINE_CALL);
      return false;
    }
    return true;
  }

  accept(chatId: string): boolean {
    const call = liveCall(this.snapshot.calls, chatId);
    if (!call) return false;
    if (!this.options.isOpen()) {
      this.options.notify(OFFLINE_CALL);
      return false;
    }
    this.calls({ type: "pending", chatId, action: "accept", callId: call.callId });
    if (!this.options.send({ type: "call_accept", chat_id: chatId, call_id: call.callId })) {
      this.calls({ type: "pending_failed", chatId });
      this.options.notify(OFFLINE_CALL);
      return false;
    }
    return true;
  }

  decline(chatId: string): void {
    const call = liveCall(this.snapshot.calls, chatId);
    if (!call) return;
    if (!this.options.send({ type: "call_decline", chat_id: chatId, call_id: call.callId })) this.options.notify(OFFLINE_CALL);
  }

  /** The caller hangs up before anyone answered. */
  cancel(chatId: string): void {
    const call = liveCall(this.snapshot.calls, chatId);
    if (!call) return;
    if (!this.options.send({ type: "call_cancel", chat_id: chatId, call_id: call.callId })) this.options.notify(OFFLINE_CALL);
  }

  /** Leave the call (a ringing call is cancelled or declined by the server). */
  hangUp(chatId: string): void {
    const call = liveCall(this.snapshot.calls, chatId);
    if (this.session?.chatId === chatId) this.pttCancel(chatId);
    if (!call) return;
    this.options.send({ type: "call_end", chat_id: chatId, call_id: call.callId });
    this.calls({ type: "left", chatId });
  }

  // --- push to talk: the speaker ---------------------------------------------------------------

  /** Why pressing push-to-talk in this chat can't record now (null: it can). */
  pttRefusal(chatId: string): string | null {
    if (!this.options.isOpen()) return OFFLINE_PTT;
    const call = liveCall(this.snapshot.calls, chatId);
    if (!call || call.phase !== "active") return "Push-to-talk works once the call is answered.";
    if (!inCallHere(this.snapshot.calls, chatId)) return "Join the call to talk.";
    const turn = chatTurn(this.snapshot.turns, chatId);
    if (turn.phase !== "idle") return turn.speakerId === this.me ? "Your last turn is still being translated." : "Someone else has the turn; wait for them to finish.";
    if (!this.options.createRecorder) return NO_MICROPHONE;
    return null;
  }

  private publishPtt(): void {
    const s = this.session;
    this.update({ ptt: s ? { chatId: s.chatId, phase: s.phase, sentBytes: s.sentBytes } : null });
  }

  /** The push-to-talk button went down: open the microphone and take the turn. */
  async pttPress(chatId: string): Promise<void> {
    if (this.session) return;
    const refusal = this.pttRefusal(chatId);
    if (refusal) {
      this.update({ pttError: { chatId, text: refusal } });
      return;
    }
    const session: PttSession = {
      chatId,
      phase: "opening",
      recorder: null,
      startSent: false,
      confirmed: false,
      released: false,
      recorderStopped: false,
      cancelled: false,
      stopSent: false,
      buffered: [],
      chain: Promise.resolve(),
      sentBytes: 0,
    };
    this.session = session;
    this.update({ pttError: null });
    this.publishPtt();

    let recorder: Recorder;
    try {
      recorder = await (this.options.createRecorder as RecorderFactory)();
    } catch (error) {
      if (this.session === session) {
        this.session = null;
        this.update({ pttError: { chatId, text: microphoneErrorText(error) } });
        this.publishPtt();
      }
      return;
    }
    if (this.session !== session || session.cancelled) {
      recorder.cancel();
      return;
    }
    session.recorder = recorder;
    if (session.released) {
      // Let go while the browser was still asking for the microphone: nothing was said yet.
      recorder.cancel();
      this.session = null;
      this.update({ pttError: { chatId, text: "The microphone is ready: hold the button while you speak." } });
      this.publishPtt();
      return;
    }
    const refusedNow = this.pttRefusal(chatId);
    if (refusedNow || !this.options.send({ type: "ptt_start", chat_id: chatId, format: recorder.format })) {
      recorder.cancel();
      this.session = null;
      this.update({ pttError: { chatId, text: refusedNow ?? OFFLINE_PTT } });
      this.publishPtt();
      return;
    }
    session.startSent = true;
    session.phase = "starting";
    this.publishPtt();
    try {
      recorder.start((chunk) => this.pttChunk(session, chunk));
    } catch (error) {
      this.pttAbandon(session, true);
      this.update({ pttError: { chatId, text: microphoneErrorText(error) } });
    }
  }

  /** The button came up: send what is left, then ptt_stop. */
  async pttRelease(chatId: string): Promise<void> {
    const session = this.session;
    if (!session || session.chatId !== chatId || session.released) return;
    session.released = true;
    if (session.phase === "opening" || !session.recorder) return; // pttPress finishes it
    session.phase = "stopping";
    this.publishPtt();
    try {
      await session.recorder.stop();
    } catch {
      // whatever was recorded has been handed over
    }
    session.recorderStopped = true;
    if (session.cancelled) return;
    if (session.confirmed) this.pttSendStop(session);
    // else: the server's confirmation sends the chunks, then ptt_stop
  }

  /** Escape: abandon the recording (or my turn being processed); everyone goes back to idle. */
  pttCancel(chatId: string): void {
    const session = this.session;
    if (session && session.chatId === chatId) {
      this.pttAbandon(session, true);
      return;
    }
    const turn = chatTurn(this.snapshot.turns, chatId);
    if (turn.speakerId === this.me && turn.phase !== "idle") {
      this.markStale(chatId);
      this.options.send({ type: "ptt_cancel", chat_id: chatId });
    }
  }

  private markStale(chatId: string): void {
    this.staleUntil.set(chatId, this.now() + STALE_WINDOW_MS);
  }

  /** Drop the session; tell the server when it had started a turn (`tell`). */
  private pttAbandon(session: PttSession, tell: boolean): void {
    if (session.cancelled) return;
    session.cancelled = true;
    session.buffered = [];
    try {
      session.recorder?.cancel();
    } catch {
      // already stopped
    }
    this.markStale(session.chatId);
    if (tell && session.startSent && !session.stopSent) this.options.send({ type: "ptt_cancel", chat_id: session.chatId });
    if (this.session === session) {
      this.session = null;
      this.publishPtt();
    }
  }

  private pttChunk(session: PttSession, chunk: Blob | Uint8Array): void {
    if (session.cancelled || session.stopSent) return;
    if (!session.confirmed) {
      session.buffered.push(chunk);
      return;
    }
    this.pttSendChunk(session, chunk);
  }

  private pttSendChunk(session: PttSession, chunk: Blob | Uint8Array): void {
    // One chain per session keeps the chunks, and ptt_stop after them, in recording order.
    session.chain = session.chain.then(async () => {
      if (session.cancelled) return;
      const bytes = await toBytes(chunk);
      if (session.cancelled || !bytes.byteLength) return;
      if (this.options.sendBinary(bytes)) {
        session.sentBytes += bytes.byteLength;
        if (this.session === session) this.publishPtt();
      } else {
        // The socket went away: the server ends the turn itself.
        this.pttAbandon(session, false);
        this.update({ pttError: { chatId: session.chatId, text: "The connection dropped while you were speaking; try again." } });
      }
    });
  }

  private pttSendStop(session: PttSession): void {
    session.chain = session.chain.then(() => {
      if (session.cancelled || session.stopSent) return;
      session.stopSent = true;
      this.options.send({ type: "ptt_stop", chat_id: session.chatId });
      this.update({ lastSentBytes: { ...this.snapshot.lastSentBytes, [session.chatId]: session.sentBytes } });
      if (this.session === session) {
        this.session = null;
        this.publishPtt();
      }
    });
  }

  /** The server gave me the turn: stream what was buffered, and stop if already released. */
  private pttConfirmed(session: PttSession): void {
    session.confirmed = true;
    if (session.phase === "starting") session.phase = "recording";
    const buffered = session.buffered;
    session.buffered = [];
    for (const chunk of buffered) this.pttSendChunk(session, chunk);
    if (session.released && session.recorderStopped) this.pttSendStop(session);
    this.publishPtt();
  }

  // --- turns and audio -----------------------------------------------------------------------

  private handleTurn(frame: TurnFrame): void {
    const session = this.session;
    if (
      frame.state === "recording" &&
      session &&
      !session.confirmed &&
      session.startSent &&
      !session.cancelled &&
      frame.speaker_id === this.me &&
      frame.chat_id === session.chatId
    ) {
      this.pttConfirmed(session);
    }
    this.turns({ type: "frame", frame });
    if (frame.state === "idle") {
      if (session && session.confirmed && frame.chat_id === session.chatId && frame.speaker_id === this.me) {
        // My turn ended while I was still recording (too long, a listener left...).
        this.pttAbandon(session, false);
      }
      const assembler = this.assemblers.get(frame.turn_id);
      if (assembler) {
        // The audio stopped short (speech synthesis failed midway): play what came.
        this.assemblers.delete(frame.turn_id);
        this.finishAssembly(frame.chat_id, assembler);
      }
    }
  }

  private handleAudio(frame: AudioFrame): void {
    if (this.assembledDone.includes(frame.turn_id)) return;
    let assembler = this.assemblers.get(frame.turn_id);
    if (!assembler) {
      assembler = new AudioAssembler(frame.turn_id, frame.language);
      this.assemblers.set(frame.turn_id, assembler);
      const transcript = this.snapshot.turns.transcripts[frame.chat_id]?.find((t) => t.turnId === frame.turn_id);
      this.sink?.begin(frame.turn_id, transcript?.audioFormat || DEFAULT_AUDIO_MIME);
    }
    let data: Uint8Array;
    try {
      data = base64ToBytes(frame.data);
    } catch {
      return; // not base64: nothing playable in it
    }
    const result = assembler.add(frame.seq, data, Boolean(frame.final));
    if (!result.accepted) return;
    for (const chunk of result.ready) this.sink?.push(frame.turn_id, chunk);
    const stats = this.snapshot.audio[frame.chat_id] ?? { bytes: 0, chunks: 0, turns: 0 };
    this.update({
      audio: {
        ...this.snapshot.audio,
        [frame.chat_id]: { ...stats, bytes: stats.bytes + data.byteLength, chunks: stats.chunks + (data.byteLength ? 1 : 0) },
      },
    });
    if (result.complete) {
      this.assemblers.delete(frame.turn_id);
      this.finishAssembly(frame.chat_id, assembler);
    }
  }

  private finishAssembly(chatId: string, assembler: AudioAssembler): void {
    this.assembledDone.push(assembler.turnId);
    if (this.assembledDone.length > 100) this.assembledDone.shift();
    if (!assembler.chunks.length) {
      this.sink?.abort(assembler.turnId);
      return;
    }
    this.sink?.end(assembler.turnId, assembler.whole());
    if (assembler.complete) {
      const stats = this.snapshot.audio[chatId] ?? { bytes: 0, chunks: 0, turns: 0 };
      this.update({ audio: { ...this.snapshot.audio, [chatId]: { ...stats, turns: stats.turns + 1 } } });
    }
  }

  /** The page's player; null when it goes away. */
  setSink(sink: AudioSink | null): void {
    this.sink = sink;
  }

  /** The player says how playback goes. */
  setPlayback(status: PlaybackStatus): void {
    this.update({ playback: status });
  }
}
