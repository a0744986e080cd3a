/**
 * Voice over the chat socket, framework-free: one store (React reads it through
 * subscribe/getSnapshot; unit tests drive it with a fake socket and a fake recorder) over three
 * parts, each keeping its own slice of the snapshot:
 *
 * - calls (lib/calls.ts): ringing, answering, leaving; call frames in.
 * - push to talk (lib/pushToTalk.ts, its state machine in lib/pttState.ts): my turns.
 * - listening (lib/listening.ts): others' turns' synthesized speech to the page's player.
 *
 * The shared turn state comes from `voice_turn` frames (lib/turnState.ts) and is kept here.
 */
import { Calls, type CallsSlice } from "./calls";
import { initialCallsState } from "./callState";
import { idlePlayback, Listening, type AudioSink, type ListeningSlice, type PlaybackStatus } from "./listening";
import { PushToTalk, type PttSlice } from "./pushToTalk";
import type { RecorderFactory } from "./recording";
import { initialTurnsState, turnsReducer, type TurnAction, type TurnsState } from "./turnState";
import type { ErrorFrame, TurnFrame, VoiceFrame } from "./types";

export interface VoiceSnapshot extends CallsSlice, PttSlice, ListeningSlice {
  turns: TurnsState;
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

export class VoiceClient {
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
  private readonly calls: Calls;
  private readonly ptt: PushToTalk;
  private readonly listening: Listening;
  readonly me: string;

  constructor(options: VoiceClientOptions) {
    this.me = options.me;
    const now = options.now ?? (() => Date.now());
    const get = () => this.snapshot;
    const set = (change: Partial<VoiceSnapshot>) => this.update(change);
    this.calls = new Calls({ me: options.me, send: options.send, isOpen: options.isOpen, notify: options.notify, now, get, set });
    this.ptt = new PushToTalk({
      me: options.me,
      send: options.send,
      sendBinary: options.sendBinary,
      isOpen: options.isOpen,
      createRecorder: options.createRecorder,
      now,
      calls: () => this.snapshot.calls,
      turns: () => this.snapshot.turns,
      get,
      set,
    });
    this.listening = new Listening({ turns: () => this.snapshot.turns, get, set });
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

  private turns(action: TurnAction): void {
    const next = turnsReducer(this.snapshot.turns, action);
    if (next !== this.snapshot.turns) this.update({ turns: next });
  }

  // --- socket events -------------------------------------------------------------------------

  /** A voice frame from the server. */
  handleFrame(frame: VoiceFrame): void {
    switch (frame.type) {
      case "voice_turn":
        this.handleTurn(frame);
        return;
      case "voice_audio":
        this.listening.handleAudio(frame);
        return;
      default:
        if (this.calls.handleFrame(frame)) {
          // The call is over: so is any turn in it, and any recording of ours.
          this.turns({ type: "reset", chatId: frame.chat_id });
          this.ptt.callEnded(frame.chat_id);
        }
    }
  }

  private handleTurn(frame: TurnFrame): void {
    this.ptt.turnStarting(frame);
    this.turns({ type: "frame", frame });
    this.ptt.turnEnded(frame);
    this.listening.turnEnded(frame);
  }

  /**
   * An error frame. True when it is about something voice already shows (a refused push to
   * talk, chunks of a turn that is over); false when the app should still tell the user.
   */
  handleError(frame: ErrorFrame): boolean {
    if (this.ptt.handleError(frame)) return true;
    this.calls.handleError(frame);
    return false;
  }

  /** The socket is open (again). */
  handleOpen(): void {
    this.calls.handleOpen();
  }

  /** The socket dropped: the server took us out of our calls and ended our turn. */
  connectionLost(): void {
    this.ptt.connectionLost();
    this.listening.connectionLost();
    this.calls.connectionLost();
    this.turns({ type: "reset" });
  }

  /** Every second or so: rings nobody ended time out. */
  tick(): void {
    this.calls.tick();
  }

  stop(): void {
    this.ptt.stop();
    this.listening.setSink(null);
  }

  // --- what the pages do ---------------------------------------------------------------------

  /** Keep this chat's call state current (its conversation or call page is on screen). */
  watch(chatId: string): () => void {
    return this.calls.watch(chatId);
  }

  /** Ring the chat's other members. False (and the user told why) when it can't be done now. */
  startCall(chatId: string): boolean {
    return this.calls.start(chatId);
  }

  accept(chatId: string): boolean {
    return this.calls.accept(chatId);
  }

  decline(chatId: string): void {
    this.calls.decline(chatId);
  }

  /** Leave the call (a ringing call is cancelled or declined by the server). */
  hangUp(chatId: string): void {
    this.ptt.hangUp(chatId);
    this.calls.hangUp(chatId);
  }

  /** The push-to-talk button went down: open the microphone and take the turn. */
  pttPress(chatId: string): Promise<void> {
    return this.ptt.pressDown(chatId);
  }

  /** The button came up: send what is left, then ptt_stop. */
  pttRelease(chatId: string): Promise<void> {
    return this.ptt.release(chatId);
  }

  /** Escape: abandon the recording (or my turn being processed). */
  pttCancel(chatId: string): void {
    this.ptt.cancel(chatId);
  }

  /** The page's player; null when it goes away. */
  setSink(sink: AudioSink | null): void {
    this.listening.setSink(sink);
  }

  /** The player says how playback goes. */
  setPlayback(status: PlaybackStatus): void {
    this.listening.setPlayback(status);
  }
}
