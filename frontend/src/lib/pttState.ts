/**
 * Push-to-talk from the speaker's side, the pure part: one press of the button as a state
 * machine. lib/pushToTalk.ts drives the microphone and the socket by it.
 *
 *   opening ──start_sent──▶ starting ──turn_granted──▶ recording
 *      │ release               │ release                  │ release
 *      ▼                       ▼                          ▼
 *   opening (released)      stopping (awaiting turn    stopping (awaiting recorder)
 *                           and recorder)                │ recorder_stopped
 *                              │ either, then the other   ▼
 *                              └────────────────────────▶ finishing ──stop_sent──▶ ended
 *
 * `abandon` (Escape, a refusal, the call or the connection gone, the microphone refused or
 * opened after the button came up) ends any press at once.
 * - opening: the browser is asking for the microphone; released: let go meanwhile, so no
 *   ptt_start is sent once it opens.
 * - starting: ptt_start sent, the server has not given the turn yet; what is recorded is held.
 * - recording: the turn is mine; the recording streams as it comes.
 * - stopping: let go; waiting for the server's turn, the recorder's last chunk, or both.
 * - finishing: both came; the held chunks, then ptt_stop, are going out.
 */

export type PttAwaiting = "turn-and-recorder" | "turn" | "recorder";

export type PttState =
  | { phase: "opening"; released: boolean }
  | { phase: "starting" }
  | { phase: "recording" }
  | { phase: "stopping"; awaiting: PttAwaiting }
  | { phase: "finishing" }
  | { phase: "ended" };

export type PttEvent =
  | { type: "release" }
  | { type: "start_sent" }
  | { type: "turn_granted" }
  | { type: "recorder_stopped" }
  | { type: "stop_sent" }
  | { type: "abandon" };

export const pttOpening: PttState = { phase: "opening", released: false };
const ended: PttState = { phase: "ended" };

/** The state after `event`; the same object when the event means nothing in this state. */
export function pttTransition(state: PttState, event: PttEvent): PttState {
  if (state.phase === "ended") return state;
  if (event.type === "abandon") return ended;
  switch (state.phase) {
    case "opening":
      if (event.type === "release") return state.released ? state : { phase: "opening", released: true };
      // Let go while the microphone was opening: nothing is sent then (abandon ends the press).
      if (event.type === "start_sent" && !state.released) return { phase: "starting" };
      return state;
    case "starting":
      if (event.type === "release") return { phase: "stopping", awaiting: "turn-and-recorder" };
      if (event.type === "turn_granted") return { phase: "recording" };
      return state;
    case "recording":
      if (event.type === "release") return { phase: "stopping", awaiting: "recorder" };
      return state;
    case "stopping":
      if (event.type === "turn_granted" && state.awaiting !== "recorder") {
        return state.awaiting === "turn" ? { phase: "finishing" } : { phase: "stopping", awaiting: "recorder" };
      }
      if (event.type === "recorder_stopped" && state.awaiting !== "turn") {
        return state.awaiting === "recorder" ? { phase: "finishing" } : { phase: "stopping", awaiting: "turn" };
      }
      return state;
    case "finishing":
      return event.type === "stop_sent" ? ended : state;
  }
}

/** ptt_start has gone out and the press is not over: a ptt_cancel is owed if it is abandoned. */
export function pttStartSent(state: PttState): boolean {
  return state.phase !== "opening" && state.phase !== "ended";
}

/** ptt_start is out and the server has not answered: its refusal (an error) is about this press. */
export function pttAwaitingTurn(state: PttState): boolean {
  return state.phase === "starting" || (state.phase === "stopping" && state.awaiting !== "recorder");
}

/** The server gave the turn: recorded chunks go straight out. */
export function pttTurnGranted(state: PttState): boolean {
  return state.phase === "recording" || state.phase === "finishing" || (state.phase === "stopping" && state.awaiting === "recorder");
}

/** What the button shows: the machine's states as the four the user sees (null: not pressed). */
export function pttVisiblePhase(state: PttState): "opening" | "starting" | "recording" | "stopping" | null {
  switch (state.phase) {
    case "opening":
    case "starting":
    case "recording":
      return state.phase;
    case "stopping":
    case "finishing":
      return "stopping";
    case "ended":
      return null;
  }
}
