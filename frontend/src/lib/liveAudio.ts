/**
 * The call's live audio through LiveKit (room `chat-{chat_id}`, token from
 * POST /api/voice/token). Audio only: remote microphones are played; mine is published only
 * when the user turns "live microphone" on (push-to-talk, which translates, goes over the chat
 * socket and needs none of this).
 *
 * `livekit-client` is loaded only when a call page joins a room. The pure parts (what a token
 * failure or a connection error means, in words) are unit-tested.
 */
import { ApiError } from "./api";

export type LiveAudioStatus = "checking" | "unavailable" | "ready" | "connecting" | "connected" | "reconnecting" | "disconnected" | "failed";

export interface LiveAudioState {
  status: LiveAudioStatus;
  /** Why it is unavailable or failed, in words. */
  detail: string | null;
  /** Other people in the LiveKit room. */
  remoteParticipants: number;
  micOn: boolean;
  /** The browser wants a click before it plays remote audio. */
  audioBlocked: boolean;
}

export const liveAudioInitial: LiveAudioState = { status: "checking", detail: null, remoteParticipants: 0, micOn: false, audioBlocked: false };

/** What a failed POST /api/voice/token means for live audio. */
export function tokenFailure(error: unknown): LiveAudioState {
  const err = error instanceof ApiError ? error : new ApiError(0, error instanceof Error ? error.message : String(error));
  if (err.status === 503 || err.status === 501) return { ...liveAudioInitial, status: "unavailable", detail: err.detail };
  if (err.status === 404 && err.detail === "Not found") {
    return { ...liveAudioInitial, status: "unavailable", detail: "This server has no voice calls." };
  }
  return { ...liveAudioInitial, status: "failed", detail: `Couldn't get a call token: ${err.detail}` };
}

/** The LiveKit server to use: the backend's (the token reply's `url`), else this build's setting. */
export function liveKitUrl(replyUrl: string | null | undefined, configured: string): string | null {
  const url = (replyUrl || configured || "").trim();
  if (!url) return null;
  if (/^wss?:\/\//i.test(url)) return url;
  if (/^https?:\/\//i.test(url)) return url.replace(/^http/i, "ws");
  return null;
}

/** A connection failure in words. */
export function liveAudioErrorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error ?? "");
  const name = (error as { name?: string } | null)?.name ?? "";
  if (name === "NotAllowedError") return "Microphone access was refused, so the live microphone is off.";
  if (/401|unauthori[sz]ed|invalid token|token is expired/i.test(message)) return "The live audio server refused the call token.";
  if (/could not establish|failed to fetch|network|websocket|timeout|timed out|signal connection/i.test(message) || !message) {
    return "Couldn't reach the live audio server. Push-to-talk still works.";
  }
  return `Live audio failed: ${message}`;
}

export interface LiveAudioSession {
  leave(): Promise<void>;
  setMicrophone(on: boolean): Promise<void>;
  /** After a click: let the browser play remote audio. */
  startAudio(): Promise<void>;
}

/** Join the room with audio only; `onState` hears every change. Rejects with the connection error. */
export async function joinLiveAudio(options: {
  url: string;
  token: string;
  container: HTMLElement;
  onState: (change: Partial<LiveAudioState>) => void;
}): Promise<LiveAudioSession> {
  const lk = await import("livekit-client");
  // The page reports failures in words; the library's own console output would only repeat them.
  lk.setLogLevel(lk.LogLevel.silent);
  const room = new lk.Room({ adaptiveStream: false, dynacast: false, audioCaptureDefaults: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
  const { onState, container } = options;
  const count = () => onState({ remoteParticipants: room.remoteParticipants.size });
  room
    .on(lk.RoomEvent.ConnectionStateChanged, (state) => {
      const status: LiveAudioStatus =
        state === lk.ConnectionState.Connected
          ? "connected"
          : state === lk.ConnectionState.Connecting
            ? "connecting"
            : state === lk.ConnectionState.Disconnected
              ? "disconnected"
              : "reconnecting";
      onState({ status });
    })
    .on(lk.RoomEvent.ParticipantConnected, count)
    .on(lk.RoomEvent.ParticipantDisconnected, count)
    .on(lk.RoomEvent.TrackSubscribed, (track) => {
      if (track.kind === lk.Track.Kind.Audio) container.appendChild(track.attach());
    })
    .on(lk.RoomEvent.TrackUnsubscribed, (track) => {
      for (const element of track.detach()) element.remove();
    })
    .on(lk.RoomEvent.AudioPlaybackStatusChanged, () => onState({ audioBlocked: !room.canPlaybackAudio }))
    .on(lk.RoomEvent.Disconnected, () => onState({ status: "disconnected", remoteParticipants: 0 }));
  onState({ status: "connecting", detail: null });
  try {
    await room.connect(options.url, options.token, { autoSubscribe: true });
  } catch (error) {
    await room.disconnect().catch(() => undefined);
    throw error;
  }
  onState({ status: "connected", remoteParticipants: room.remoteParticipants.size, audioBlocked: !room.canPlaybackAudio });
  return {
    leave: async () => {
      await room.disconnect();
      container.replaceChildren();
    },
    setMicrophone: async (on: boolean) => {
      await room.localParticipant.setMicrophoneEnabled(on);
      onState({ micOn: on });
    },
    startAudio: () => room.startAudio(),
  };
}
