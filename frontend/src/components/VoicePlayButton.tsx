"use client";

/**
 * Plays a message as speech in the reader's language: GET /api/chats/{id}/messages/{seq}/audio
 * with the bearer header (an <audio src> can't send one), so it is fetched as a Blob first.
 * One message plays at a time; errors are shown in words beside the button.
 */
import { useEffect, useRef, useState } from "react";
import { ApiError } from "@/lib/api";
import { useSession } from "./session";
import { PauseIcon, PlayIcon } from "./Icons";

type State = "idle" | "loading" | "playing" | "paused" | "error";

let playing: { audio: HTMLAudioElement; stop: () => void } | null = null;

export function VoicePlayButton({ chatId, seq, languageLabel }: { chatId: string; seq: number; languageLabel: string }) {
  const { api } = useSession();
  const [state, setState] = useState<State>("idle");
  const [error, setError] = useState<string | null>(null);
  const [bytes, setBytes] = useState(0);
  const audio = useRef<HTMLAudioElement | null>(null);
  const url = useRef<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  useEffect(
    () => () => {
      abort.current?.abort();
      if (audio.current) {
        audio.current.pause();
        if (playing?.audio === audio.current) playing = null;
      }
      if (url.current) URL.revokeObjectURL(url.current);
    },
    [],
  );

  const start = async (element: HTMLAudioElement) => {
    if (playing && playing.audio !== element) playing.stop();
    playing = { audio: element, stop: () => element.pause() };
    try {
      await element.play();
    } catch (err) {
      const name = (err as { name?: string })?.name;
      if (name === "AbortError") return;
      setState("error");
      setError(
        name === "NotAllowedError"
          ? "The browser blocked playback; press the button again."
          : name === "NotSupportedError"
            ? "This browser can't play this audio."
            : "The audio could not be played.",
      );
    }
  };

  const onClick = async () => {
    if (state === "loading") return;
    if (audio.current && state === "playing") {
      audio.current.pause();
      return;
    }
    if (audio.current && url.current) {
      setError(null);
      await start(audio.current);
      return;
    }
    setState("loading");
    setError(null);
    const controller = new AbortController();
    abort.current = controller;
    try {
      const blob = await api.messageAudio(chatId, seq, controller.signal);
      setBytes(blob.size);
      url.current = URL.createObjectURL(blob);
      const element = new Audio(url.current);
      element.addEventListener("playing", () => setState("playing"));
      element.addEventListener("pause", () => setState((s) => (s === "error" ? s : element.ended ? "idle" : "paused")));
      element.addEventListener("ended", () => setState("idle"));
      element.addEventListener("error", () => {
        setState("error");
        setError("This browser can't play this audio.");
      });
      audio.current = element;
      await start(element);
    } catch (err) {
      if ((err as { name?: string })?.name === "AbortError") return;
      setState("error");
      setError(err instanceof ApiError ? err.detail : "The audio could not be loaded.");
    }
  };

  const busy = state === "loading";
  return (
    <span className="voice-play">
      <button
        type="button"
        className="link-btn voice-play-btn"
        onClick={() => void onClick()}
        aria-busy={busy || undefined}
        aria-label={state === "playing" ? "Pause" : `Listen in ${languageLabel}`}
        data-testid="play-voice"
        data-state={state}
        data-bytes={bytes}
      >
        {state === "playing" ? <PauseIcon size={12} /> : <PlayIcon size={12} />}
        {busy ? "Loading…" : state === "playing" ? "Pause" : "Listen"}
      </button>
      {error && (
        <span className="voice-play-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
