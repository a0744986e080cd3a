/**
 * Plays listeners' synthesized speech as it streams in (the AudioSink of lib/voice.ts), one
 * turn after another through one <audio> element.
 *
 * Where the browser has Media Source Extensions for the type (audio/mpeg in Chrome, Edge,
 * Firefox), each chunk is appended as it arrives and playback starts with the first one. Where
 * it doesn't (iPhone Safari), or MSE refuses the data, the turn's chunks are collected and
 * played as one Blob when its last chunk is in. Either way the whole turn is kept as a Blob
 * URL for "play again". Failures are reported in words (PlaybackStatus.error).
 */
import type { AudioSink, PlaybackStatus } from "./listening";
import { idlePlayback } from "./listening";

const REPLAYS_KEPT = 20;

interface Turn {
  turnId: string;
  mime: string;
  chunks: Uint8Array[];
  /** Chunks not yet appended to the SourceBuffer. */
  pending: Uint8Array[];
  complete: boolean;
  mode: "mse" | "blob";
  source: MediaSource | null;
  buffer: SourceBuffer | null;
  url: string | null;
  started: boolean;
  failed: boolean;
}

function mediaErrorText(audio: HTMLAudioElement, mime: string): string {
  const code = audio.error?.code;
  if (code === 4 || code === 3) return `This browser can't play the translated speech (${mime}).`;
  if (code === 2) return "The translated speech stopped arriving (network).";
  return "The translated speech could not be played.";
}

export class TurnAudioPlayer implements AudioSink {
  private queue: Turn[] = [];
  private current: Turn | null = null;
  private status: PlaybackStatus = idlePlayback;
  private replayOrder: string[] = [];
  private disposed = false;

  constructor(
    private readonly audio: HTMLAudioElement,
    private readonly report: (status: PlaybackStatus) => void,
  ) {
    audio.addEventListener("ended", this.onEnded);
    audio.addEventListener("error", this.onError);
    audio.addEventListener("playing", this.onPlaying);
  }

  dispose(): void {
    this.disposed = true;
    this.audio.removeEventListener("ended", this.onEnded);
    this.audio.removeEventListener("error", this.onError);
    this.audio.removeEventListener("playing", this.onPlaying);
    this.audio.pause();
    this.audio.removeAttribute("src");
    for (const turn of [this.current, ...this.queue]) if (turn?.url) URL.revokeObjectURL(turn.url);
    for (const url of Object.values(this.status.replays)) URL.revokeObjectURL(url);
    this.queue = [];
    this.current = null;
  }

  private set(change: Partial<PlaybackStatus>): void {
    this.status = { ...this.status, ...change };
    if (!this.disposed) this.report(this.status);
  }

  private find(turnId: string): Turn | undefined {
    if (this.current?.turnId === turnId) return this.current;
    return this.queue.find((t) => t.turnId === turnId);
  }

  // --- AudioSink -------------------------------------------------------------------------------

  begin(turnId: string, mime: string): void {
    if (this.find(turnId)) return;
    const mse =
      typeof window !== "undefined" &&
      typeof window.MediaSource !== "undefined" &&
      typeof MediaSource.isTypeSupported === "function" &&
      MediaSource.isTypeSupported(mime);
    this.queue.push({
      turnId,
      mime,
      chunks: [],
      pending: [],
      complete: false,
      mode: mse ? "mse" : "blob",
      source: null,
      buffer: null,
      url: null,
      started: false,
      failed: false,
    });
    this.next();
  }

  push(turnId: string, chunk: Uint8Array): void {
    const turn = this.find(turnId);
    if (!turn) return;
    turn.chunks.push(chunk);
    turn.pending.push(chunk);
    if (turn === this.current) this.feed(turn);
  }

  end(turnId: string, whole: Uint8Array): void {
    const url = URL.createObjectURL(new Blob([whole as Uint8Array<ArrayBuffer>], { type: this.find(turnId)?.mime ?? "audio/mpeg" }));
    this.keepReplay(turnId, url);
    const turn = this.find(turnId);
    if (!turn) return;
    turn.complete = true;
    if (turn === this.current) this.feed(turn);
  }

  abort(turnId: string): void {
    const turn = this.find(turnId);
    if (!turn) return;
    if (turn === this.current) {
      this.finish(turn, false);
    } else {
      this.queue = this.queue.filter((t) => t !== turn);
    }
  }

  // --- controls --------------------------------------------------------------------------------

  /** After the browser blocked autoplay: the user pressed Play. */
  resume(): void {
    this.play();
  }

  /** Play a finished turn again. */
  replay(turnId: string): void {
    const url = this.status.replays[turnId];
    if (!url || this.current) return;
    this.audio.src = url;
    this.set({ state: "playing", turnId, error: null });
    this.play();
  }

  // --- internals -------------------------------------------------------------------------------

  private keepReplay(turnId: string, url: string): void {
    const replays = { ...this.status.replays, [turnId]: url };
    this.replayOrder.push(turnId);
    while (this.replayOrder.length > REPLAYS_KEPT) {
      const old = this.replayOrder.shift() as string;
      if (replays[old]) URL.revokeObjectURL(replays[old]);
      delete replays[old];
    }
    this.set({ replays });
  }

  private next(): void {
    if (this.current || !this.queue.length) return;
    const turn = this.queue.shift() as Turn;
    this.current = turn;
    this.set({ state: "buffering", turnId: turn.turnId, error: null, mode: turn.mode === "mse" ? "stream" : "whole" });
    if (turn.mode === "mse") this.openSource(turn);
    else this.feed(turn);
  }

  private openSource(turn: Turn): void {
    const source = new MediaSource();
    turn.source = source;
    turn.url = URL.createObjectURL(source);
    source.addEventListener(
      "sourceopen",
      () => {
        if (turn !== this.current) return;
        try {
          turn.buffer = source.addSourceBuffer(turn.mime);
        } catch {
          this.fallBack(turn);
          return;
        }
        turn.buffer.addEventListener("updateend", () => this.feed(turn));
        turn.buffer.addEventListener("error", () => this.fallBack(turn));
        this.feed(turn);
      },
      { once: true },
    );
    this.audio.src = turn.url;
  }

  /** MSE could not take this audio: play the whole turn as a Blob once it is in. */
  private fallBack(turn: Turn): void {
    if (turn.mode === "blob") return;
    turn.mode = "blob";
    this.set({ mode: "whole" });
    turn.buffer = null;
    turn.started = false;
    if (turn.url) URL.revokeObjectURL(turn.url);
    turn.url = null;
    turn.source = null;
    this.audio.removeAttribute("src");
    this.feed(turn);
  }

  private feed(turn: Turn): void {
    if (turn !== this.current || turn.failed) return;
    if (turn.mode === "blob") {
      if (!turn.complete || turn.started) return;
      turn.started = true;
      turn.url = URL.createObjectURL(new Blob(turn.chunks as Uint8Array<ArrayBuffer>[], { type: turn.mime }));
      this.audio.src = turn.url;
      this.play();
      return;
    }
    const { buffer, source } = turn;
    if (!buffer || !source || buffer.updating) return;
    if (turn.pending.length) {
      try {
        buffer.appendBuffer(turn.pending.shift() as Uint8Array<ArrayBuffer>);
      } catch {
        this.fallBack(turn);
        return;
      }
      if (!turn.started) {
        // Playback starts with the first chunk, while the rest is still being synthesized.
        turn.started = true;
        this.play();
      }
      return;
    }
    if (turn.complete && source.readyState === "open") {
      try {
        source.endOfStream();
      } catch {
        // already ended
      }
    }
  }

  private play(): void {
    const attempt = this.audio.play();
    if (!attempt) return;
    attempt.catch((error: { name?: string }) => {
      if (this.disposed) return;
      if (error?.name === "NotAllowedError") {
        this.set({ state: "blocked", error: "Your browser blocked the translated speech from playing by itself. Press Play to hear it." });
      } else if (error?.name === "AbortError") {
        // the source changed (the next turn); nothing is wrong
      } else if (this.current && this.current.mode === "mse" && !this.current.failed) {
        this.fallBack(this.current);
      } else if (this.current) {
        this.fail(this.current, mediaErrorText(this.audio, this.current.mime));
      } else {
        this.set({ state: "error", error: mediaErrorText(this.audio, "audio") });
      }
    });
  }

  private onPlaying = (): void => {
    this.set({ state: "playing", error: null });
  };

  private onEnded = (): void => {
    const turn = this.current;
    if (turn) this.finish(turn, true);
    else this.set({ state: "idle", turnId: null, played: this.status.played + 1 }); // a replay
  };

  private onError = (): void => {
    const turn = this.current;
    if (!turn) {
      if (this.audio.getAttribute("src")) this.set({ state: "error", error: mediaErrorText(this.audio, "audio") });
      return;
    }
    if (turn.mode === "mse") this.fallBack(turn);
    else this.fail(turn, mediaErrorText(this.audio, turn.mime));
  };

  private fail(turn: Turn, error: string): void {
    turn.failed = true;
    this.set({ state: "error", error });
    this.finish(turn, false, true);
  }

  private finish(turn: Turn, played: boolean, keepError = false): void {
    if (turn !== this.current) return;
    if (turn.url) URL.revokeObjectURL(turn.url);
    turn.url = null;
    this.current = null;
    this.set({
      state: keepError ? "error" : "idle",
      turnId: null,
      played: this.status.played + (played ? 1 : 0),
      ...(keepError ? {} : { error: null }),
    });
    this.next();
  }
}
