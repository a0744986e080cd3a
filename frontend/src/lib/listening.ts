/**
 * Listening: `voice_audio` frames (base64 JSON) put in order per turn (lib/audioStream.ts) and
 * handed to the audio sink (the page's player, lib/audioPlayer.ts) as they come.
 */
import { AudioAssembler, base64ToBytes } from "./audioStream";
import type { TurnsState } from "./turnState";
import type { AudioFrame, TurnFrame } from "./types";

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

export const idlePlayback: PlaybackStatus = { state: "idle", turnId: null, error: null, mode: null, played: 0, replays: {} };

export interface AudioStats {
  bytes: number;
  chunks: number;
  /** Turns whose audio arrived complete. */
  turns: number;
}

/** Listening's part of the voice snapshot. */
export interface ListeningSlice {
  /** Synthesized speech received, per chat. */
  audio: Record<string, AudioStats>;
  playback: PlaybackStatus;
}

export interface ListeningOptions {
  /** The turns as they stand (a turn's audio format is in its transcript). */
  turns: () => TurnsState;
  get: () => ListeningSlice;
  set: (change: Partial<ListeningSlice>) => void;
}

const DEFAULT_AUDIO_MIME = "audio/mpeg";
/** Turns remembered as played, so a late repeated chunk does not start them again. */
const DONE_TURNS_KEPT = 100;
const noAudio: AudioStats = { bytes: 0, chunks: 0, turns: 0 };

export class Listening {
  private readonly options: ListeningOptions;
  private sink: AudioSink | null = null;
  private assemblers = new Map<string, AudioAssembler>();
  private assembledDone: string[] = [];

  constructor(options: ListeningOptions) {
    this.options = options;
  }

  /** The page's player; null when it goes away. */
  setSink(sink: AudioSink | null): void {
    this.sink = sink;
  }

  /** The player says how playback goes. */
  setPlayback(status: PlaybackStatus): void {
    this.options.set({ playback: status });
  }

  handleAudio(frame: AudioFrame): void {
    if (this.assembledDone.includes(frame.turn_id)) return;
    let assembler = this.assemblers.get(frame.turn_id);
    if (!assembler) {
      assembler = new AudioAssembler(frame.turn_id, frame.language);
      this.assemblers.set(frame.turn_id, assembler);
      const transcript = this.options.turns().transcripts[frame.chat_id]?.find((t) => t.turnId === frame.turn_id);
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
    const audio = this.options.get().audio;
    const stats = audio[frame.chat_id] ?? noAudio;
    this.options.set({
      audio: { ...audio, [frame.chat_id]: { ...stats, bytes: stats.bytes + data.byteLength, chunks: stats.chunks + (data.byteLength ? 1 : 0) } },
    });
    if (result.complete) {
      this.assemblers.delete(frame.turn_id);
      this.finish(frame.chat_id, assembler);
    }
  }

  /** A voice_turn frame: a turn that ends with its audio short (speech synthesis failed
   *  midway) plays what came. */
  turnEnded(frame: TurnFrame): void {
    if (frame.state !== "idle") return;
    const assembler = this.assemblers.get(frame.turn_id);
    if (!assembler) return;
    this.assemblers.delete(frame.turn_id);
    this.finish(frame.chat_id, assembler);
  }

  /** The socket dropped: the audio still coming won't. */
  connectionLost(): void {
    for (const assembler of this.assemblers.values()) this.sink?.abort(assembler.turnId);
    this.assemblers.clear();
  }

  private finish(chatId: string, assembler: AudioAssembler): void {
    this.assembledDone.push(assembler.turnId);
    if (this.assembledDone.length > DONE_TURNS_KEPT) this.assembledDone.shift();
    if (!assembler.chunks.length) {
      this.sink?.abort(assembler.turnId);
      return;
    }
    this.sink?.end(assembler.turnId, assembler.whole());
    if (assembler.complete) {
      const audio = this.options.get().audio;
      const stats = audio[chatId] ?? noAudio;
      this.options.set({ audio: { ...audio, [chatId]: { ...stats, turns: stats.turns + 1 } } });
    }
  }
}
