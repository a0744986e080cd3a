import { describe, expect, it } from "vitest";
import { chatTurn, initialTurnsState, TRANSCRIPTS_KEPT, turnStatus, turnsReducer, type TurnsState } from "@/lib/turnState";
import type { TurnFrame } from "@/lib/types";

const ME = "me";
const names = (id: string) => ({ me: "You", bruno: "Bruno" })[id] ?? "Someone";

function turn(state: TurnFrame["state"], extra: Partial<TurnFrame> = {}): TurnFrame {
  return { type: "voice_turn", chat_id: "c1", call_id: "k1", turn_id: "t1", speaker_id: "bruno", state, ...extra };
}

function run(...frames: TurnFrame[]): TurnsState {
  return frames.reduce((state, frame) => turnsReducer(state, { type: "frame", frame }), initialTurnsState);
}

const playing = turn("playing", {
  original_text: "Hola a todos",
  original_language: "es",
  translations: { en: "[en] Hola a todos", fr: "[fr] Hola a todos" },
  text: "[en] Hola a todos",
  language: "en",
  audio_format: "audio/mpeg",
});

describe("the shared turn state", () => {
  it("goes recording → processing → playing → idle, with the transcripts and the stored message", () => {
    let state = run(turn("recording"));
    expect(chatTurn(state, "c1")).toMatchObject({ phase: "recording", speakerId: "bruno", turnId: "t1" });
    expect(turnStatus(chatTurn(state, "c1"), ME, names)).toMatchObject({ text: "Bruno is speaking…", locked: true, mine: false, kind: "recording" });

    state = turnsReducer(state, { type: "frame", frame: turn("processing") });
    expect(turnStatus(chatTurn(state, "c1"), ME, names)).toMatchObject({ text: "Translating…", locked: true });

    state = turnsReducer(state, { type: "frame", frame: playing });
    expect(turnStatus(chatTurn(state, "c1"), ME, names).text).toBe("Playing Bruno's words in your language…");
    expect(state.transcripts.c1).toEqual([
      {
        turnId: "t1",
        speakerId: "bruno",
        originalText: "Hola a todos",
        originalLanguage: "es",
        text: "[en] Hola a todos",
        language: "en",
        translations: { en: "[en] Hola a todos", fr: "[fr] Hola a todos" },
        audioFormat: "audio/mpeg",
        outcome: null,
        messageSeq: null,
      },
    ]);

    state = turnsReducer(state, { type: "frame", frame: turn("idle", { reason: "complete", message_id: "m9", seq: 9 }) });
    expect(chatTurn(state, "c1")).toMatchObject({ phase: "idle", speakerId: null, turnId: null });
    expect(turnStatus(chatTurn(state, "c1"), ME, names)).toMatchObject({ text: "Hold the button to talk", locked: false, kind: "idle" });
    expect(state.transcripts.c1[0]).toMatchObject({ outcome: "complete", messageSeq: 9 });
  });

  it("my own turn does not lock my button while I record, and says whose it is", () => {
    const state = run(turn("recording", { speaker_id: ME }));
    expect(turnStatus(chatTurn(state, "c1"), ME, names)).toMatchObject({ text: "You're speaking… release to send", locked: false, mine: true });
    const processing = turnsReducer(state, { type: "frame", frame: turn("processing", { speaker_id: ME }) });
    expect(turnStatus(chatTurn(processing, "c1"), ME, names)).toMatchObject({ locked: true, mine: true });
  });

  it("an error returns everyone to idle and says what went wrong, until the next turn", () => {
    const state = run(turn("recording"), turn("processing"), turn("idle", { reason: "error", error: "No speech was recognised; try again", error_code: "no_speech" }));
    const status = turnStatus(chatTurn(state, "c1"), ME, names);
    expect(status).toMatchObject({ kind: "error", locked: false, error: "No speech was recognised; try again" });
    expect(status.text).toBe("Bruno's turn didn't go through: No speech was recognised; try again");
    const next = turnsReducer(state, { type: "frame", frame: turn("recording", { turn_id: "t2", speaker_id: ME }) });
    expect(turnStatus(chatTurn(next, "c1"), ME, names).kind).toBe("recording");
  });

  it("late frames of a finished turn never bring it back, and never step backwards", () => {
    const state = run(turn("recording"), turn("processing"), turn("idle", { reason: "cancelled" }));
    expect(turnsReducer(state, { type: "frame", frame: turn("processing") })).toBe(state);
    expect(turnsReducer(state, { type: "frame", frame: playing })).toBe(state);
    expect(turnStatus(chatTurn(state, "c1"), ME, names).text).toBe("Bruno cancelled. Hold the button to talk.");

    const ahead = run(turn("processing"));
    expect(turnsReducer(ahead, { type: "frame", frame: turn("recording") })).toBe(ahead);
  });

  it("an idle for an older turn ends only that turn", () => {
    const state = run(turn("recording", { turn_id: "t2" }), turn("idle", { turn_id: "t1", reason: "error", error: "x" }));
    expect(chatTurn(state, "c1")).toMatchObject({ phase: "recording", turnId: "t2" });
  });

  it("reset (call over, socket dropped) makes every chat idle", () => {
    const state = turnsReducer(run(turn("processing"), turn("recording", { chat_id: "c2", turn_id: "x" })), { type: "reset" });
    expect(chatTurn(state, "c1").phase).toBe("idle");
    expect(chatTurn(state, "c2").phase).toBe("idle");
    expect(turnsReducer(state, { type: "frame", frame: turn("playing") })).toBe(state); // t1 is over
  });

  it("keeps the latest transcripts only", () => {
    const frames: TurnFrame[] = [];
    for (let i = 0; i < TRANSCRIPTS_KEPT + 5; i++) {
      frames.push({ ...playing, turn_id: `t${i}` }, turn("idle", { turn_id: `t${i}`, reason: "complete" }));
    }
    const state = run(...frames);
    expect(state.transcripts.c1).toHaveLength(TRANSCRIPTS_KEPT);
    expect(state.transcripts.c1[0].turnId).toBe("t5");
  });
});
