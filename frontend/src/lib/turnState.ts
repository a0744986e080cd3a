/**
 * Push-to-talk turns: the state every participant of a chat's call sees (`voice_turn`
 * frames), one speaker at a time, and the transcripts of the turns so far.
 *
 * idle → recording (someone holds the turn) → processing (speech to text, translation) →
 * playing (both transcripts; listeners hear the translation) → idle (complete, cancelled,
 * or error with the reason in words). Frames of a turn that already went idle are ignored, so
 * a late frame never brings a finished turn back.
 */
import type { TurnFrame } from "./types";

export type TurnPhase = "idle" | "recording" | "processing" | "playing";

export interface TurnTranscript {
  turnId: string;
  speakerId: string;
  originalText: string;
  originalLanguage: string;
  /** The reader's own version (the original when the reader speaks the speaker's language). */
  text: string;
  language: string;
  translations: Record<string, string>;
  audioFormat: string | null;
  /** Set when the turn ends: how, and the stored message holding it. */
  outcome: "complete" | "cancelled" | "error" | null;
  messageSeq: number | null;
}

export interface TurnEnd {
  turnId: string;
  speakerId: string;
  reason: "complete" | "cancelled" | "error";
  error: string | null;
  errorCode: string | null;
}

export interface ChatTurn {
  phase: TurnPhase;
  turnId: string | null;
  speakerId: string | null;
  /** How the last turn ended (shown while idle: an error stays until the next turn). */
  last: TurnEnd | null;
}

export interface TurnsState {
  byChat: Record<string, ChatTurn>;
  /** Per chat, oldest first, at most TRANSCRIPTS_KEPT. */
  transcripts: Record<string, TurnTranscript[]>;
  /** Turn ids that went idle (most recent last), to ignore their late frames. */
  finished: string[];
}

export const TRANSCRIPTS_KEPT = 50;
const FINISHED_KEPT = 200;

export const idleTurn: ChatTurn = { phase: "idle", turnId: null, speakerId: null, last: null };
export const initialTurnsState: TurnsState = { byChat: {}, transcripts: {}, finished: [] };

export type TurnAction =
  | { type: "frame"; frame: TurnFrame }
  /** The call ended or this socket dropped: whatever turn was under way is over for us. */
  | { type: "reset"; chatId?: string };

function setTurn(state: TurnsState, chatId: string, turn: ChatTurn): TurnsState {
  return { ...state, byChat: { ...state.byChat, [chatId]: turn } };
}

function upsertTranscript(list: TurnTranscript[], turnId: string, change: (t: TurnTranscript | null) => TurnTranscript | null): TurnTranscript[] {
  const index = list.findIndex((t) => t.turnId === turnId);
  const next = change(index >= 0 ? list[index] : null);
  if (!next) return list;
  if (index >= 0) return list.map((t, i) => (i === index ? next : t));
  const appended = [...list, next];
  return appended.length > TRANSCRIPTS_KEPT ? appended.slice(appended.length - TRANSCRIPTS_KEPT) : appended;
}

function applyFrame(state: TurnsState, frame: TurnFrame): TurnsState {
  if (state.finished.includes(frame.turn_id)) return state;
  const chatId = frame.chat_id;
  const current = state.byChat[chatId] ?? idleTurn;
  switch (frame.state) {
    case "recording":
    case "processing":
      if (current.turnId === frame.turn_id && current.phase === frame.state) return state;
      // A later phase of the same turn never goes back to an earlier one.
      if (current.turnId === frame.turn_id && phaseRank(current.phase) > phaseRank(frame.state)) return state;
      return setTurn(state, chatId, { phase: frame.state, turnId: frame.turn_id, speakerId: frame.speaker_id, last: current.last });
    case "playing": {
      const next = setTurn(state, chatId, { phase: "playing", turnId: frame.turn_id, speakerId: frame.speaker_id, last: current.last });
      const original = frame.original_text ?? "";
      const originalLanguage = frame.original_language ?? "";
      const transcripts = upsertTranscript(next.transcripts[chatId] ?? [], frame.turn_id, () => ({
        turnId: frame.turn_id,
        speakerId: frame.speaker_id,
        originalText: original,
        originalLanguage,
        text: frame.text ?? original,
        language: frame.language ?? originalLanguage,
        translations: { ...(frame.translations ?? {}) },
        audioFormat: frame.audio_format ?? null,
        outcome: null,
        messageSeq: null,
      }));
      return { ...next, transcripts: { ...next.transcripts, [chatId]: transcripts } };
    }
    case "idle": {
      const reason = frame.reason ?? "complete";
      const last: TurnEnd = {
        turnId: frame.turn_id,
        speakerId: frame.speaker_id,
        reason,
        error: reason === "error" ? frame.error || "Something went wrong with that turn" : null,
        errorCode: frame.error_code ?? null,
      };
      const finished = [...state.finished, frame.turn_id];
      let next: TurnsState = {
        ...state,
        finished: finished.length > FINISHED_KEPT ? finished.slice(finished.length - FINISHED_KEPT) : finished,
      };
      // An idle for an older turn than the one shown (frames crossed) ends only that turn.
      if (current.turnId === null || current.turnId === frame.turn_id) {
        next = setTurn(next, chatId, { phase: "idle", turnId: null, speakerId: null, last });
      }
      const list = next.transcripts[chatId];
      if (list?.some((t) => t.turnId === frame.turn_id)) {
        const transcripts = upsertTranscript(list, frame.turn_id, (t) =>
          t ? { ...t, outcome: reason, messageSeq: typeof frame.seq === "number" ? frame.seq : t.messageSeq } : null,
        );
        next = { ...next, transcripts: { ...next.transcripts, [chatId]: transcripts } };
      }
      return next;
    }
    default:
      return state;
  }
}

function phaseRank(phase: TurnPhase): number {
  return { idle: 0, recording: 1, processing: 2, playing: 3 }[phase];
}

export function turnsReducer(state: TurnsState, action: TurnAction): TurnsState {
  switch (action.type) {
    case "frame":
      return applyFrame(state, action.frame);
    case "reset": {
      const chats = action.chatId ? [action.chatId] : Object.keys(state.byChat);
      let next = state;
      for (const chatId of chats) {
        const turn = next.byChat[chatId];
        if (turn && turn.phase !== "idle") {
          const finished = turn.turnId ? [...next.finished, turn.turnId] : next.finished;
          next = { ...setTurn(next, chatId, { ...idleTurn, last: turn.last }), finished };
        }
      }
      return next;
    }
    default:
      return state;
  }
}

export function chatTurn(state: TurnsState, chatId: string): ChatTurn {
  return state.byChat[chatId] ?? idleTurn;
}

export interface TurnStatus {
  /** What the shared state is, in words. */
  text: string;
  /** The push-to-talk button is locked (someone else holds the turn, or it is being processed). */
  locked: boolean;
  /** I hold the turn (recording or being processed). */
  mine: boolean;
  /** The last turn ended in an error: its words. */
  error: string | null;
  /** For styling and tests: idle, recording, processing, playing, error. */
  kind: TurnPhase | "error";
}

/** The shared turn state from one participant's point of view. */
export function turnStatus(turn: ChatTurn, me: string, nameOf: (userId: string) => string): TurnStatus {
  const mine = turn.speakerId === me;
  const speaker = turn.speakerId ? (mine ? "You" : nameOf(turn.speakerId)) : "";
  switch (turn.phase) {
    case "recording":
      return {
        text: mine ? "You're speaking… release to send" : `${speaker} is speaking…`,
        locked: !mine,
        mine,
        error: null,
        kind: "recording",
      };
    case "processing":
      return { text: "Translating…", locked: true, mine, error: null, kind: "processing" };
    case "playing":
      return {
        text: mine ? "Playing your words to the others…" : `Playing ${speaker}'s words in your language…`,
        locked: true,
        mine,
        error: null,
        kind: "playing",
      };
    case "idle": {
      const last = turn.last;
      if (last?.reason === "error") {
        const who = last.speakerId === me ? "Your turn" : `${nameOf(last.speakerId)}'s turn`;
        return { text: `${who} didn't go through: ${last.error}`, locked: false, mine: false, error: last.error, kind: "error" };
      }
      if (last?.reason === "cancelled") {
        return { text: `${last.speakerId === me ? "You" : nameOf(last.speakerId)} cancelled. Hold the button to talk.`, locked: false, mine: false, error: null, kind: "idle" };
      }
      return { text: "Hold the button to talk", locked: false, mine: false, error: null, kind: "idle" };
    }
  }
}
