/**
 * Recording, the pure parts: which format to record in (what the browser's MediaRecorder can
 * make and the backend takes: `webm`, `ogg`, `wav`, `mp3`, `mp4`, `flac`), and the
 * hold-to-talk gesture.
 *
 * The gesture: press and hold to record, release to send. A quick tap (shorter than TAP_MS)
 * instead latches recording on, and the next press stops it, for people who can't hold a
 * button down (or a key: Space held while the button has focus). Escape cancels.
 */

/** A microphone recording in progress (lib/mediaRecorder.ts in the browser): voice notes and
 *  push-to-talk record through it. */
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

export interface RecordingFormat {
  /** What to ask MediaRecorder for ("" = its default). */
  mimeType: string;
  /** The backend's name for it (ptt_start `format`). */
  format: string;
}

/** In order of preference: Opus in WebM (Chrome, Firefox, Edge), Ogg, then MP4 (Safari). */
export const RECORDING_CANDIDATES: readonly RecordingFormat[] = [
  { mimeType: "audio/webm;codecs=opus", format: "webm" },
  { mimeType: "audio/webm", format: "webm" },
  { mimeType: "audio/ogg;codecs=opus", format: "ogg" },
  { mimeType: "audio/ogg", format: "ogg" },
  { mimeType: "audio/mp4;codecs=mp4a.40.2", format: "mp4" },
  { mimeType: "audio/mp4", format: "mp4" },
  { mimeType: "audio/wav", format: "wav" },
];

/** The backend's format name for a recorded MIME type; null when it takes no such format. */
export function formatForMime(mime: string): string | null {
  const base = mime.split(";", 1)[0].trim().toLowerCase();
  switch (base) {
    case "audio/webm":
    case "video/webm":
      return "webm";
    case "audio/ogg":
    case "audio/opus":
      return "ogg";
    case "audio/mp4":
    case "video/mp4":
    case "audio/aac":
    case "audio/x-m4a":
      return "mp4";
    case "audio/wav":
    case "audio/wave":
    case "audio/x-wav":
      return "wav";
    case "audio/mpeg":
      return "mp3";
    case "audio/flac":
      return "flac";
    default:
      return null;
  }
}

/**
 * The first candidate the browser can record. Null when it says it can record none of them
 * (then record with its default and read the format from the recorder's mimeType).
 */
export function pickRecordingFormat(isTypeSupported: ((mime: string) => boolean) | undefined): RecordingFormat | null {
  if (!isTypeSupported) return null;
  for (const candidate of RECORDING_CANDIDATES) {
    try {
      if (isTypeSupported(candidate.mimeType)) return candidate;
    } catch {
      // a browser that throws for a type it doesn't know: try the next
    }
  }
  return null;
}

/** The Content-Type to upload a recording with: its MIME type without codec parameters. */
export function uploadContentType(mime: string): string {
  const base = mime.split(";", 1)[0].trim().toLowerCase();
  return base === "video/webm" ? "audio/webm" : base || "audio/webm";
}

// --- the hold-to-talk gesture ------------------------------------------------------------------

export const TAP_MS = 300;

export type Gesture = { phase: "up" } | { phase: "held"; since: number } | { phase: "latched" };
export type GestureEffect = "start" | "stop" | "cancel" | null;

export const gestureUp: Gesture = { phase: "up" };

/** Button (or Space) went down. */
export function gesturePress(state: Gesture, now: number): { state: Gesture; effect: GestureEffect } {
  switch (state.phase) {
    case "up":
      return { state: { phase: "held", since: now }, effect: "start" };
    case "latched":
      return { state: gestureUp, effect: "stop" };
    case "held":
      return { state, effect: null }; // key repeat
  }
}

/** Button (or Space) came up. */
export function gestureRelease(state: Gesture, now: number): { state: Gesture; effect: GestureEffect } {
  if (state.phase !== "held") return { state, effect: null };
  if (now - state.since < TAP_MS) return { state: { phase: "latched" }, effect: null };
  return { state: gestureUp, effect: "stop" };
}

/** Escape, the pointer leaving for good, the page hiding. */
export function gestureCancel(state: Gesture): { state: Gesture; effect: GestureEffect } {
  return { state: gestureUp, effect: state.phase === "up" ? null : "cancel" };
}

/** Why the microphone could not be used, in words (getUserMedia and MediaRecorder errors). */
export function microphoneErrorText(error: unknown): string {
  const name = (error as { name?: string } | null)?.name ?? "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
    case "PermissionDeniedError":
      return "Microphone access was refused. Allow the microphone for this site in your browser's settings, then try again.";
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return "No microphone was found. Connect one and try again.";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "The microphone is busy or not working (another app may be using it).";
    case "NotSupportedError":
    case "TypeError":
      return "This browser can't record audio here (it needs a secure https:// page and a recent browser).";
    default: {
      const message = error instanceof Error && error.message ? error.message : String(error ?? "");
      return message ? `The microphone could not be used: ${message}` : "The microphone could not be used.";
    }
  }
}
