"use client";

/**
 * The push-to-talk button and the turn state everyone in the call sees.
 *
 * Hold it (mouse, touch, or Space/Enter while it has focus) to speak; let go to send. A quick
 * tap keeps it recording until the next tap. Escape cancels. While someone else holds the
 * turn, or a turn is being translated, it is locked and says why.
 */
import { useEffect, useEffectEvent, useId, type KeyboardEvent, type PointerEvent } from "react";
import { gestureCancel, gesturePress, gestureRelease, type Gesture, type GestureEffect } from "@/lib/recording";
import { chatTurn, turnStatus } from "@/lib/turnState";
import { useSession, useVoiceSnapshot } from "./session";
import { useGesture, useNameOf } from "./hooks";
import { MicIcon } from "./Icons";
import { FormError } from "./FormError";
import { holdPointer } from "./pointer";

export function PushToTalk({ chatId, enabled, disabledReason }: { chatId: string; enabled: boolean; disabledReason: string | null }) {
  const { client, me } = useSession();
  const voice = useVoiceSnapshot();
  const nameOf = useNameOf(chatId);
  const turn = chatTurn(voice.turns, chatId);
  const status = turnStatus(turn, me.user_id, nameOf);
  const local = voice.ptt?.chatId === chatId ? voice.ptt : null;
  const { gesture, setGesture, resetGesture, latched } = useGesture();
  const id = useId();
  const pttError = voice.pttError?.chatId === chatId ? voice.pttError.text : null;

  // The recording ended without us (refused, the call ended, the turn failed): reset the gesture.
  useEffect(() => {
    if (!local) resetGesture();
  }, [local, resetGesture]);

  const apply = (result: { state: Gesture; effect: GestureEffect }) => {
    setGesture(result.state);
    if (result.effect === "start") void client.voice.pttPress(chatId);
    else if (result.effect === "stop") void client.voice.pttRelease(chatId);
    else if (result.effect === "cancel") client.voice.pttCancel(chatId);
  };
  const press = () => apply(gesturePress(gesture.current, performance.now()));
  const release = () => apply(gestureRelease(gesture.current, performance.now()));
  const cancel = () => {
    setGesture(gestureCancel(gesture.current).state);
    client.voice.pttCancel(chatId);
  };

  // Escape cancels wherever the focus is, while recording or while my turn is processed.
  const mineActive = Boolean(local) || (turn.speakerId === me.user_id && turn.phase !== "idle");
  const onEscape = useEffectEvent(() => cancel());
  useEffect(() => {
    if (!mineActive) return;
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (event.key === "Escape") onEscape();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [mineActive]);

  const locked = !local && (status.locked || !enabled);
  let label: string;
  if (local?.phase === "opening") label = "Opening the microphone…";
  else if (local?.phase === "stopping") label = "Sending…";
  else if (local) label = latched ? "Recording… tap to send" : "Recording… release to send";
  else if (!enabled) label = "Hold to talk";
  else if (status.locked) label = status.text;
  else label = "Hold to talk";

  const recording = Boolean(local && local.phase !== "stopping");
  const sentBytes = local ? local.sentBytes : (voice.lastSentBytes[chatId] ?? 0);

  const onPointerDown = (event: PointerEvent<HTMLButtonElement>) => {
    if (event.button !== 0 || locked) return;
    holdPointer(event);
    press();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLButtonElement>) => {
    // (Escape is handled by the window listener above, wherever the focus is.)
    if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      if (!event.repeat && !locked) press();
    }
  };
  const onKeyUp = (event: KeyboardEvent<HTMLButtonElement>) => {
    if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      release();
    }
  };

  return (
    <div className={`ptt ptt-${local ? "mine" : status.kind}`}>
      <p className={`turn-state ${status.kind}`} data-testid="turn-state" data-state={status.kind} role="status" aria-live="polite">
        {enabled || turn.phase !== "idle" ? status.text : disabledReason}
      </p>
      <button
        type="button"
        className={`ptt-btn${recording ? " recording" : ""}`}
        data-testid="ptt-button"
        data-state={local ? local.phase : status.kind}
        data-sent-bytes={sentBytes}
        aria-pressed={recording}
        aria-describedby={`${id}-hint`}
        aria-disabled={locked || undefined}
        disabled={!enabled && !local}
        onPointerDown={onPointerDown}
        onPointerUp={() => release()}
        onPointerCancel={() => cancel()}
        onKeyDown={onKeyDown}
        onKeyUp={onKeyUp}
        onContextMenu={(event) => event.preventDefault()}
      >
        <MicIcon size={34} />
        <span>{label}</span>
      </button>
      <p id={`${id}-hint`} className="ptt-hint muted small">
        Hold the button, or Space while it&apos;s focused, and speak; let go to send. A quick tap keeps it recording until you tap again.
        Esc cancels.
      </p>
      <FormError message={pttError} testId="ptt-error" />
    </div>
  );
}
