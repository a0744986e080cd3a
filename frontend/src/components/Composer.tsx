"use client";

/**
 * The message box: Enter sends, Shift+Enter starts a new line (and Enter while an input
 * method is composing, e.g. Japanese or Chinese, only confirms the composition). Drafts
 * survive switching chats. A counter appears near the 2000-character limit.
 *
 * The microphone button records a voice note: hold it (or Space/Enter on it) while you speak
 * and let go to send; a quick tap keeps recording until the next tap; Escape cancels.
 */
import { useEffect, useEffectEvent, useId, useRef, useState, type FormEvent, type KeyboardEvent, type PointerEvent, type ReactNode } from "react";
import { ApiError } from "@/lib/api";
import { durationLabel } from "@/lib/callState";
import { MESSAGE_COUNTER_FROM, MESSAGE_MAX_CHARS } from "@/lib/config";
import { browserRecorderFactory } from "@/lib/mediaRecorder";
import { gestureCancel, gesturePress, gestureRelease, gestureUp, microphoneErrorText, type Gesture, type GestureEffect, type Recorder } from "@/lib/recording";
import { useGesture } from "./hooks";
import { MicIcon, SendIcon } from "./Icons";
import { holdPointer } from "./pointer";

type NoteState = { kind: "idle" } | { kind: "opening" } | { kind: "recording"; since: number } | { kind: "sending" };

/** Shorter than this is a slip of the finger, not a voice note. */
const NOTE_MIN_MS = 600;

const drafts = new Map<string, string>();
const MAX_HEIGHT_PX = 160;

export function Composer({
  chatId,
  placeholder,
  onSend,
  onTyping,
  onVoiceNote,
  above,
}: {
  chatId: string;
  placeholder: string;
  /** Shown over the message box (what a reply quotes: ReplyQuote.tsx). */
  above?: ReactNode;
  onSend: (text: string) => void;
  onTyping: () => void;
  /** Upload a recorded note; rejects with the reason in words. */
  onVoiceNote?: (audio: Blob, mimeType: string) => Promise<void>;
}) {
  const [text, setText] = useState(() => drafts.get(chatId) ?? "");
  const ref = useRef<HTMLTextAreaElement>(null);
  const id = useId();
  const length = text.length;
  const over = length > MESSAGE_MAX_CHARS;
  const canSend = text.trim().length > 0 && !over;

  useEffect(() => {
    drafts.set(chatId, text);
  }, [chatId, text]);

  // Grow with the text, up to a few lines.
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);

  function send() {
    if (!canSend) return;
    onSend(text.trim());
    setText("");
    drafts.delete(chatId);
    ref.current?.focus();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      send();
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    send();
  }

  const showCounter = length >= MESSAGE_COUNTER_FROM;
  const note = useVoiceNote(onVoiceNote);
  const noteActive = note.state.kind !== "idle";

  return (
    <form className="composer" onSubmit={onSubmit}>
      {above}
      <label htmlFor={`${id}-input`} className="visually-hidden">
        Message
      </label>
      <div className="composer-box">
        {noteActive && (
          <div className="note-status" role="status" aria-live="polite" data-testid="voice-note-status" data-state={note.state.kind}>
            {note.state.kind === "recording" && <span className="rec-dot" aria-hidden="true" />}
            {note.state.kind === "opening"
              ? "Opening the microphone…"
              : note.state.kind === "sending"
                ? "Sending your voice note…"
                : `Recording ${note.elapsed} · ${note.latched ? "tap the microphone to send" : "let go to send"} · Esc cancels`}
          </div>
        )}
        <textarea
          hidden={noteActive}
          ref={ref}
          id={`${id}-input`}
          data-testid="composer"
          rows={1}
          dir="auto"
          value={text}
          placeholder={placeholder}
          aria-describedby={`${id}-hint${showCounter ? ` ${id}-counter` : ""}`}
          aria-invalid={over || undefined}
          onChange={(event) => {
            setText(event.target.value);
            if (event.target.value.trim()) onTyping();
          }}
          onKeyDown={onKeyDown}
        />
        {onVoiceNote && (
          <button
            type="button"
            className={`mic-btn${note.state.kind === "recording" ? " recording" : ""}`}
            aria-label={note.state.kind === "recording" ? "Recording a voice note: let go to send" : "Record a voice note (hold while you speak)"}
            aria-pressed={note.state.kind === "recording"}
            aria-describedby={`${id}-note-hint`}
            disabled={note.state.kind === "sending"}
            data-testid="voice-note-button"
            onPointerDown={note.onPointerDown}
            onPointerUp={note.release}
            onPointerCancel={note.cancel}
            onKeyDown={note.onKeyDown}
            onKeyUp={note.onKeyUp}
            onContextMenu={(event) => event.preventDefault()}
          >
            <MicIcon size={20} />
          </button>
        )}
        <button type="submit" className="send-btn" aria-label="Send message" disabled={!canSend || noteActive}>
          <SendIcon />
        </button>
      </div>
      <div className="composer-foot">
        <span id={`${id}-hint`} className="composer-hint">
          Enter to send · Shift+Enter for a new line
        </span>
        <span id={`${id}-note-hint`} className="visually-hidden">
          Hold the microphone button, or Space while it is focused, and speak; let go to send. A quick tap keeps recording until you tap
          again. Escape cancels.
        </span>
        {note.error && (
          <span className="composer-error" role="alert" data-testid="voice-note-error">
            {note.error}{" "}
            <button type="button" className="link-btn" onClick={note.dismiss}>
              Dismiss
            </button>
          </span>
        )}
        {showCounter && (
          <span id={`${id}-counter`} className={`counter${over ? " over" : ""}`} aria-live="polite" data-testid="char-counter">
            {over ? `${length - MESSAGE_MAX_CHARS} over the ${MESSAGE_MAX_CHARS}-character limit` : `${length} / ${MESSAGE_MAX_CHARS}`}
          </span>
        )}
      </div>
    </form>
  );
}

/** Recording and sending a voice note with the hold-to-talk gesture. */
function useVoiceNote(send: ((audio: Blob, mimeType: string) => Promise<void>) | undefined) {
  const [state, setState] = useState<NoteState>({ kind: "idle" });
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const { gesture, setGesture, latched } = useGesture();
  const recorder = useRef<Recorder | null>(null);
  const chunks = useRef<Array<Blob | Uint8Array>>([]);
  const startedAt = useRef(0);
  const session = useRef(0);

  useEffect(() => {
    if (state.kind !== "recording") return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [state.kind]);

  const cancelRecording = () => {
    session.current += 1;
    recorder.current?.cancel();
    recorder.current = null;
    chunks.current = [];
    setGesture(gestureUp);
    setState({ kind: "idle" });
  };

  // Escape cancels wherever the focus is; leaving the page cancels too.
  const onEscape = useEffectEvent(() => cancelRecording());
  useEffect(() => {
    if (state.kind !== "recording" && state.kind !== "opening") return;
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (event.key === "Escape") onEscape();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [state.kind]);
  useEffect(() => () => recorder.current?.cancel(), []);

  const start = async () => {
    const mine = ++session.current;
    setError(null);
    setState({ kind: "opening" });
    let opened: Recorder;
    try {
      opened = await browserRecorderFactory();
    } catch (err) {
      if (mine !== session.current) return;
      setGesture(gestureUp);
      setState({ kind: "idle" });
      setError(microphoneErrorText(err));
      return;
    }
    if (mine !== session.current) {
      opened.cancel();
      return;
    }
    if (gesture.current.phase === "up") {
      // Let go while the browser was asking for the microphone.
      opened.cancel();
      setState({ kind: "idle" });
      setError("The microphone is ready: hold the button while you speak.");
      return;
    }
    recorder.current = opened;
    chunks.current = [];
    opened.start((chunk) => chunks.current.push(chunk));
    startedAt.current = Date.now();
    setNow(startedAt.current);
    setState({ kind: "recording", since: startedAt.current });
  };

  const finish = async () => {
    const current = recorder.current;
    if (!current || !send) return;
    const mine = session.current;
    recorder.current = null;
    setState({ kind: "sending" });
    await current.stop();
    if (mine !== session.current) return;
    const took = Date.now() - startedAt.current;
    const audio = new Blob(chunks.current as BlobPart[], { type: current.mimeType || "audio/webm" });
    chunks.current = [];
    if (took < NOTE_MIN_MS || audio.size === 0) {
      setState({ kind: "idle" });
      setError("That was too short to send: hold the button while you speak.");
      return;
    }
    try {
      await send(audio, current.mimeType || "audio/webm");
    } catch (err) {
      setError(`Voice note not sent: ${err instanceof ApiError ? err.detail : err instanceof Error ? err.message : String(err)}`);
    } finally {
      if (mine === session.current) setState({ kind: "idle" });
    }
  };

  const apply = (result: { state: Gesture; effect: GestureEffect }) => {
    setGesture(result.state);
    if (result.effect === "start") void start();
    else if (result.effect === "stop") {
      if (recorder.current) void finish();
      // still opening: start() sees the gesture is up and stops there
    } else if (result.effect === "cancel") cancelRecording();
  };

  const busy = state.kind === "sending";
  return {
    state,
    error,
    latched,
    elapsed: durationLabel(state.kind === "recording" ? (now - state.since) / 1000 : 0),
    dismiss: () => setError(null),
    cancel: () => apply(gestureCancel(gesture.current)),
    release: () => apply(gestureRelease(gesture.current, performance.now())),
    onPointerDown: (event: PointerEvent<HTMLButtonElement>) => {
      if (event.button !== 0 || busy) return;
      holdPointer(event);
      apply(gesturePress(gesture.current, performance.now()));
    },
    onKeyDown: (event: KeyboardEvent<HTMLButtonElement>) => {
      // (Escape is handled by the window listener while recording, wherever the focus is.)
      if (event.key === " " || event.key === "Enter") {
        event.preventDefault();
        if (!event.repeat && !busy) apply(gesturePress(gesture.current, performance.now()));
      }
    },
    onKeyUp: (event: KeyboardEvent<HTMLButtonElement>) => {
      if (event.key === " " || event.key === "Enter") {
        event.preventDefault();
        apply(gestureRelease(gesture.current, performance.now()));
      }
    },
  };
}
