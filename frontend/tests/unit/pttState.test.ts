import { describe, expect, it } from "vitest";
import {
  pttAwaitingTurn,
  pttOpening,
  pttStartSent,
  pttTransition,
  pttTurnGranted,
  pttVisiblePhase,
  type PttEvent,
  type PttState,
} from "@/lib/pttState";

/** The state after these events, from a fresh press. */
function after(...events: PttEvent["type"][]): PttState {
  return events.reduce<PttState>((state, type) => pttTransition(state, { type } as PttEvent), pttOpening);
}

describe("push-to-talk state machine", () => {
  it("held through: opening → starting → recording → stopping → finishing → ended", () => {
    expect(after()).toEqual({ phase: "opening", released: false });
    expect(after("start_sent")).toEqual({ phase: "starting" });
    expect(after("start_sent", "turn_granted")).toEqual({ phase: "recording" });
    expect(after("start_sent", "turn_granted", "release")).toEqual({ phase: "stopping", awaiting: "recorder" });
    expect(after("start_sent", "turn_granted", "release", "recorder_stopped")).toEqual({ phase: "finishing" });
    expect(after("start_sent", "turn_granted", "release", "recorder_stopped", "stop_sent")).toEqual({ phase: "ended" });
  });

  it("released before the server gave the turn: waits for the turn and the recorder, in either order", () => {
    const released = after("start_sent", "release");
    expect(released).toEqual({ phase: "stopping", awaiting: "turn-and-recorder" });
    expect(pttTransition(released, { type: "recorder_stopped" })).toEqual({ phase: "stopping", awaiting: "turn" });
    expect(pttTransition(released, { type: "turn_granted" })).toEqual({ phase: "stopping", awaiting: "recorder" });
    expect(after("start_sent", "release", "recorder_stopped", "turn_granted")).toEqual({ phase: "finishing" });
    expect(after("start_sent", "release", "turn_granted", "recorder_stopped")).toEqual({ phase: "finishing" });
  });

  it("let go while the microphone opens: no ptt_start follows", () => {
    const released = after("release");
    expect(released).toEqual({ phase: "opening", released: true });
    expect(pttTransition(released, { type: "start_sent" })).toBe(released);
    expect(pttTransition(released, { type: "abandon" })).toEqual({ phase: "ended" });
  });

  it("abandon ends any press; nothing moves an ended one", () => {
    const states = [after(), after("start_sent"), after("start_sent", "turn_granted"), after("start_sent", "release"), after("start_sent", "turn_granted", "release", "recorder_stopped")];
    for (const state of states) expect(pttTransition(state, { type: "abandon" })).toEqual({ phase: "ended" });
    const ended = after("abandon");
    for (const type of ["release", "start_sent", "turn_granted", "recorder_stopped", "stop_sent", "abandon"] as const) {
      expect(pttTransition(ended, { type })).toBe(ended);
    }
  });

  it("events that mean nothing in a state leave it as it is (the same object)", () => {
    const cases: Array<[PttState, PttEvent["type"]]> = [
      [after(), "turn_granted"],
      [after(), "recorder_stopped"],
      [after(), "stop_sent"],
      [after("start_sent"), "start_sent"],
      [after("start_sent"), "recorder_stopped"],
      [after("start_sent", "turn_granted"), "turn_granted"],
      [after("start_sent", "turn_granted", "release"), "release"],
      [after("start_sent", "turn_granted", "release"), "turn_granted"],
      [after("start_sent", "release", "recorder_stopped"), "recorder_stopped"],
      [after("start_sent", "turn_granted", "release", "recorder_stopped"), "release"],
    ];
    for (const [state, type] of cases) expect(pttTransition(state, { type } as PttEvent)).toBe(state);
  });

  it("what each state means for the socket and the button", () => {
    const rows: Array<[PttState, boolean, boolean, boolean, string | null]> = [
      // state, start sent, awaiting the turn, turn granted, button phase
      [after(), false, false, false, "opening"],
      [after("release"), false, false, false, "opening"],
      [after("start_sent"), true, true, false, "starting"],
      [after("start_sent", "turn_granted"), true, false, true, "recording"],
      [after("start_sent", "release"), true, true, false, "stopping"],
      [after("start_sent", "release", "recorder_stopped"), true, true, false, "stopping"],
      [after("start_sent", "turn_granted", "release"), true, false, true, "stopping"],
      [after("start_sent", "turn_granted", "release", "recorder_stopped"), true, false, true, "stopping"],
      [after("abandon"), false, false, false, null],
    ];
    for (const [state, startSent, awaiting, granted, phase] of rows) {
      expect([pttStartSent(state), pttAwaitingTurn(state), pttTurnGranted(state), pttVisiblePhase(state)]).toEqual([startSent, awaiting, granted, phase]);
    }
  });
});
