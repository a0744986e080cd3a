/**
 * The browser's microphone through MediaRecorder: the Recorder that push-to-talk and voice
 * notes use (lib/voice.ts). Records Opus in WebM where the browser can (Chrome, Firefox),
 * else Ogg or MP4 (Safari); see lib/recording.ts.
 *
 * The microphone stays open for a little while after a recording (MIC_KEEP_MS), so the next
 * turn starts at once instead of waiting for the device again; then it is released.
 */
import { formatForMime, pickRecordingFormat, type Recorder, type RecorderFactory } from "./recording";

/** How often MediaRecorder hands over a chunk while recording (each goes out as it comes). */
export const TIMESLICE_MS = 250;
export const MIC_KEEP_MS = 30_000;

let shared: { stream: MediaStream; users: number; timer: ReturnType<typeof setTimeout> | null } | null = null;

function streamLive(stream: MediaStream): boolean {
  return stream.getAudioTracks().some((track) => track.readyState === "live");
}

async function microphone(): Promise<MediaStream> {
  if (shared && streamLive(shared.stream)) {
    if (shared.timer) clearTimeout(shared.timer);
    shared.timer = null;
    shared.users += 1;
    return shared.stream;
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
  });
  shared = { stream, users: 1, timer: null };
  return stream;
}

function microphoneDone(stream: MediaStream): void {
  if (!shared || shared.stream !== stream) {
    stream.getTracks().forEach((track) => track.stop());
    return;
  }
  shared.users = Math.max(0, shared.users - 1);
  if (shared.users > 0) return;
  const current = shared;
  current.timer = setTimeout(() => {
    if (shared === current && current.users === 0) {
      current.stream.getTracks().forEach((track) => track.stop());
      shared = null;
    }
  }, MIC_KEEP_MS);
}

/** Release the microphone now (leaving a call, logging out). */
export function releaseMicrophone(): void {
  if (!shared || shared.users > 0) return;
  if (shared.timer) clearTimeout(shared.timer);
  shared.stream.getTracks().forEach((track) => track.stop());
  shared = null;
}

function unsupported(message: string): Error {
  const error = new Error(message);
  error.name = "NotSupportedError";
  return error;
}

class MediaStreamRecorder implements Recorder {
  private released = false;

  constructor(
    private readonly stream: MediaStream,
    private readonly recorder: MediaRecorder,
    readonly mimeType: string,
    readonly format: string,
  ) {}

  start(onChunk: (chunk: Blob | Uint8Array) => void): void {
    this.recorder.ondataavailable = (event: BlobEvent) => {
      if (event.data && event.data.size > 0) onChunk(event.data);
    };
    this.recorder.start(TIMESLICE_MS);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.recorder.state === "inactive") {
        this.release();
        resolve();
        return;
      }
      // The last dataavailable comes before stop.
      this.recorder.onstop = () => {
        this.release();
        resolve();
      };
      this.recorder.onerror = () => {
        this.release();
        resolve();
      };
      try {
        this.recorder.stop();
      } catch {
        this.release();
        resolve();
      }
    });
  }

  cancel(): void {
    this.recorder.ondataavailable = null;
    this.recorder.onstop = null;
    try {
      if (this.recorder.state !== "inactive") this.recorder.stop();
    } catch {
      // already stopped
    }
    this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    microphoneDone(this.stream);
  }
}

/** Opens the microphone and makes a recorder; rejects with the browser's own error (see microphoneErrorText). */
export const browserRecorderFactory: RecorderFactory = async () => {
  if (typeof window === "undefined" || typeof MediaRecorder === "undefined" || !navigator.mediaDevices?.getUserMedia) {
    throw unsupported("no MediaRecorder");
  }
  const stream = await microphone();
  const choice = pickRecordingFormat(typeof MediaRecorder.isTypeSupported === "function" ? (mime) => MediaRecorder.isTypeSupported(mime) : undefined);
  let recorder: MediaRecorder;
  try {
    recorder = new MediaRecorder(stream, choice ? { mimeType: choice.mimeType, audioBitsPerSecond: 32_000 } : undefined);
  } catch (error) {
    microphoneDone(stream);
    throw error;
  }
  const mime = recorder.mimeType || choice?.mimeType || "";
  const format = formatForMime(mime) ?? choice?.format ?? null;
  if (!format) {
    microphoneDone(stream);
    throw unsupported(`this browser records ${mime || "an unknown format"}, which the server can't read`);
  }
  return new MediaStreamRecorder(stream, recorder, mime, format);
};
