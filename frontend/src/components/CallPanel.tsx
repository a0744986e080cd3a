"use client";

/**
 * The call page: who is in the call and its state, the buttons to call, answer, decline,
 * cancel and hang up, push-to-talk with the shared turn state and each turn's transcripts,
 * the translated speech playing, and the call's live audio through LiveKit.
 *
 * Push-to-talk goes over the chat socket and works without LiveKit; without LiveKit keys the
 * backend answers the token request with 503 and the page says so.
 */
import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { callStatusText, inCallHere, liveCall } from "@/lib/callState";
import { LIVEKIT_URL } from "@/lib/config";
import { languageName, useLanguages } from "@/lib/languages";
import { fullName } from "@/lib/names";
import { joinLiveAudio, liveAudioErrorText, liveAudioInitial, liveKitUrl, tokenFailure, type LiveAudioSession, type LiveAudioState } from "@/lib/liveAudio";
import { chatTurn, type TurnTranscript } from "@/lib/turnState";
import type { VoiceTokenReply } from "@/lib/types";
import { useClientSnapshot, useSession, useVoiceSnapshot } from "./session";
import { Avatar } from "./Avatar";
import { ChatUnavailable } from "./ChatUnavailable";
import { useChatPage, useNameOf, useNow } from "./hooks";
import { PageTitle } from "./PageTitle";
import { BackIcon, MicIcon, PhoneIcon, PhoneOffIcon, PlayIcon } from "./Icons";
import { PushToTalk } from "./PushToTalk";
import { useVoicePlayer } from "./VoiceAudio";

export function CallPanel({ chatId }: { chatId: string }) {
  const { client, me } = useSession();
  const snapshot = useClientSnapshot();
  const voice = useVoiceSnapshot();
  const { languages } = useLanguages();
  const nameOf = useNameOf(chatId);
  const player = useVoicePlayer();
  // While the call page is on screen, the chat's new messages (its spoken turns) aren't unread.
  const { chat, detail, title, loadError } = useChatPage(chatId);
  const lastCall = voice.calls.calls[chatId] ?? null;
  const call = liveCall(voice.calls, chatId);
  const here = inCallHere(voice.calls, chatId);
  const pending = voice.calls.pending[chatId];
  const now = useNow(call?.phase === "active");
  const turn = chatTurn(voice.turns, chatId);
  const transcripts = voice.turns.transcripts[chatId] ?? [];
  const audio = voice.audio[chatId] ?? { bytes: 0, chunks: 0, turns: 0 };

  // A turn read here is read: its stored message is marked read when it is the chat's latest.
  const lastStored = transcripts.reduce((max, t) => Math.max(max, t.messageSeq ?? 0), 0);
  useEffect(() => {
    if (lastStored && lastStored === chat?.last_seq && document.visibilityState === "visible") client.markRead(chatId, lastStored);
  }, [client, chatId, lastStored, chat?.last_seq]);
  const langName = (code: string) => languageName(code, languages) || code;

  if (loadError && !chat) return <ChatUnavailable error={loadError} page="call" />;

  const incoming = call?.phase === "ringing" && call.callerId !== me.user_id && !call.participants.includes(me.user_id) && !call.declined.includes(me.user_id);
  const pttEnabled = call?.phase === "active" && here;
  const pttReason = !call
    ? "Start a call to talk."
    : call.phase === "ringing"
      ? "Push-to-talk works once the call is answered."
      : call.participants.includes(me.user_id)
        ? "You're in this call on another tab or device; talk there, or hang up and join here."
        : "Join the call to talk.";
  const members = detail?.members ?? [];

  function memberState(userId: string): string {
    if (!call) return "";
    if (turn.speakerId === userId && turn.phase === "recording") return "Speaking";
    if (call.participants.includes(userId)) return userId === call.callerId && call.phase === "ringing" ? "Calling" : "In the call";
    if (call.declined.includes(userId)) return "Declined";
    if (call.phase === "ringing") return "Ringing…";
    return "Not in the call";
  }

  return (
    <section
      className="call-panel"
      aria-labelledby="call-title"
      data-testid="call-panel"
      data-audio-bytes={audio.bytes}
      data-audio-chunks={audio.chunks}
      data-audio-turns={audio.turns}
      data-played={voice.playback.played}
    >
      <PageTitle title={`Voice call with ${title || "…"}`} />
      <header className="conv-header">
        <Link href={`/chats/${chatId}`} className="icon-btn" aria-label="Back to the chat">
          <BackIcon />
        </Link>
        <Avatar name={title || "?"} size={38} group={chat?.kind === "group"} />
        <div className="conv-title-wrap">
          <h1 id="call-title" className="conv-title">
            Voice call with {title || "…"}
          </h1>
          <p className="conv-subtitle" data-testid="call-state" data-phase={lastCall?.phase ?? "none"} role="status" aria-live="polite">
            {call || lastCall ? callStatusText(call ?? lastCall, me.user_id, nameOf, now, here) : "No call yet"}
          </p>
        </div>
      </header>

      <div className="call-body">
        <div className="call-controls">
          {members.length > 0 && (
            <ul className="call-people" aria-label="People in this chat">
              {members.map((member) => {
                const state = memberState(member.user_id);
                const name = fullName(member);
                return (
                  <li key={member.user_id} data-testid="call-person" data-state={state}>
                    <Avatar name={name} size={32} />
                    <span className="call-person-name">
                      {name}
                      {member.user_id === me.user_id && " (you)"}
                      <span className="muted small"> · {langName(member.native_language)}</span>
                    </span>
                    {state && <span className={`tag call-tag ${state === "Speaking" ? "speaking" : ""}`}>{state}</span>}
                  </li>
                );
              })}
            </ul>
          )}

          <div className="row call-buttons">
            {!call && (
              <button
                type="button"
                className="btn primary"
                disabled={pending?.action === "start" || snapshot.connection.status !== "connected"}
                onClick={() => client.voice.startCall(chatId)}
              >
                <PhoneIcon size={18} />
                {pending?.action === "start" ? "Calling…" : lastCall ? "Call again" : "Start call"}
              </button>
            )}
            {incoming && (
              <>
                <button type="button" className="btn accept" disabled={pending?.action === "accept"} onClick={() => client.voice.accept(chatId)}>
                  <PhoneIcon size={18} />
                  {pending?.action === "accept" ? "Joining…" : "Accept"}
                </button>
                <button type="button" className="btn decline" onClick={() => client.voice.decline(chatId)}>
                  <PhoneOffIcon size={18} />
                  Decline
                </button>
              </>
            )}
            {call?.phase === "ringing" && call.callerId === me.user_id && (
              <button type="button" className="btn decline" onClick={() => client.voice.hangUp(chatId)}>
                <PhoneOffIcon size={18} />
                Cancel call
              </button>
            )}
            {call?.phase === "active" && call.participants.includes(me.user_id) && (
              <button type="button" className="btn decline" onClick={() => client.voice.hangUp(chatId)}>
                <PhoneOffIcon size={18} />
                Hang up
              </button>
            )}
            {call?.phase === "active" && !call.participants.includes(me.user_id) && (
              <button type="button" className="btn accept" disabled={pending?.action === "accept"} onClick={() => client.voice.accept(chatId)}>
                <PhoneIcon size={18} />
                Join the call
              </button>
            )}
            <Link className="btn" href={`/chats/${chatId}`}>
              Back to the chat
            </Link>
          </div>
          {snapshot.connection.status !== "connected" && (
            <p className="banner warn" role="status">
              Not connected to the server. Calls and push-to-talk work again once you&apos;re back.
            </p>
          )}
        </div>

        <PushToTalk chatId={chatId} enabled={pttEnabled} disabledReason={pttReason} />

        <Playback />

        {transcripts.length > 0 && (
          <section className="turns" aria-labelledby="turns-title">
            <h2 id="turns-title" className="h3">
              What was said
            </h2>
            <ol className="turn-list" data-testid="turn-transcripts">
              {[...transcripts].reverse().map((t) => (
                <TranscriptItem
                  key={t.turnId}
                  transcript={t}
                  me={me.user_id}
                  myLanguage={me.native_language}
                  speaker={nameOf(t.speakerId)}
                  langName={langName}
                  replayUrl={voice.playback.replays[t.turnId] ?? null}
                  onReplay={() => player?.replay(t.turnId)}
                />
              ))}
            </ol>
          </section>
        )}

        <LiveAudio chatId={chatId} active={call?.phase === "active" && here} />
      </div>
    </section>
  );
}

function TranscriptItem({
  transcript: t,
  me,
  myLanguage,
  speaker,
  langName,
  replayUrl,
  onReplay,
}: {
  transcript: TurnTranscript;
  me: string;
  myLanguage: string;
  speaker: string;
  langName: (code: string) => string;
  /** The turn's whole audio, when it was received here (listeners only). */
  replayUrl: string | null;
  onReplay: () => void;
}) {
  const mine = t.speakerId === me;
  const translations = Object.entries(t.translations).sort(([a], [b]) => (a === myLanguage ? -1 : b === myLanguage ? 1 : a.localeCompare(b)));
  return (
    <li className={`turn-item${mine ? " mine" : ""}`} data-testid="turn-transcript" data-turn-id={t.turnId} data-outcome={t.outcome ?? "playing"}>
      <p className="turn-who">
        <strong>{speaker}</strong> <span className="muted small">said, in {langName(t.originalLanguage)}:</span>
      </p>
      <p className="turn-original" lang={t.originalLanguage} dir="auto" data-testid="turn-original">
        {t.originalText}
      </p>
      {translations.map(([language, text]) => (
        <p key={language} className={`turn-translation${language === myLanguage ? " yours" : ""}`} lang={language} dir="auto" data-testid="turn-translation">
          <span className="muted small">{language === myLanguage ? `In your language (${langName(language)}):` : `In ${langName(language)}:`}</span> {text}
        </p>
      ))}
      {replayUrl && !mine && (
        <button type="button" className="btn small" onClick={onReplay} data-testid="replay" data-src={replayUrl}>
          <PlayIcon size={14} />
          Play again
        </button>
      )}
      {t.outcome === "error" && <p className="muted small">This turn didn&apos;t finish; see above.</p>}
    </li>
  );
}

function Playback() {
  const { playback } = useVoiceSnapshot();
  const player = useVoicePlayer();
  if (playback.state === "idle" && !playback.error) return null;
  return (
    <div className={`playback ${playback.state}`} data-testid="playback" data-state={playback.state}>
      {(playback.state === "buffering" || playback.state === "playing") && (
        <p role="status" className="playback-line">
          <span className="sound-bars" aria-hidden="true">
            <span />
            <span />
            <span />
          </span>
          Playing the translation…
        </p>
      )}
      {playback.state === "blocked" && (
        <p role="alert" className="playback-line">
          {playback.error}{" "}
          <button type="button" className="btn small primary" onClick={() => player?.resume()}>
            <PlayIcon size={14} />
            Play
          </button>
        </p>
      )}
      {playback.state === "error" && (
        <p role="alert" className="form-error">
          {playback.error}
        </p>
      )}
    </div>
  );
}

function LiveAudio({ chatId, active }: { chatId: string; active: boolean }) {
  const { api } = useSession();
  const [state, setState] = useState<LiveAudioState>(liveAudioInitial);
  const [token, setToken] = useState<VoiceTokenReply | null>(null);
  const [attempt, setAttempt] = useState(0);
  const container = useRef<HTMLDivElement>(null);
  const session = useRef<LiveAudioSession | null>(null);

  useEffect(() => {
    let live = true;
    setState(liveAudioInitial);
    setToken(null);
    api
      .voiceToken(chatId)
      .then((reply) => {
        if (!live) return;
        setToken(reply);
        setState({ ...liveAudioInitial, status: "ready" });
      })
      .catch((error: unknown) => live && setState(tokenFailure(error)));
    return () => {
      live = false;
    };
  }, [api, chatId, attempt]);

  useEffect(() => {
    if (!token || !active || !container.current) return;
    const url = liveKitUrl(token.url, LIVEKIT_URL);
    if (!url) {
      setState({ ...liveAudioInitial, status: "unavailable", detail: "No live audio server is configured (LIVEKIT_URL on the server)." });
      return;
    }
    let live = true;
    const element = container.current;
    joinLiveAudio({ url, token: token.token, container: element, onState: (change) => live && setState((s) => ({ ...s, ...change })) })
      .then((joined) => {
        if (live) session.current = joined;
        else void joined.leave().catch(() => undefined);
      })
      .catch((error: unknown) => {
        if (live) setState((s) => ({ ...s, status: "failed", detail: liveAudioErrorText(error) }));
      });
    return () => {
      live = false;
      const current = session.current;
      session.current = null;
      if (current) void current.leave().catch(() => undefined);
      setState((s) => (s.status === "unavailable" || s.status === "failed" ? s : { ...s, status: "ready", remoteParticipants: 0, micOn: false }));
    };
  }, [token, active]);

  let text: string;
  switch (state.status) {
    case "checking":
      text = "Checking live audio…";
      break;
    case "unavailable":
      text = `Live audio is off: ${(state.detail ?? "").replace(/[.\s]*$/, ".")} Push-to-talk still works; it goes through the chat connection.`;
      break;
    case "ready":
      text = active ? "Joining live audio…" : `Live audio joins when the call is answered (room ${token?.room_name ?? ""}).`;
      break;
    case "connecting":
      text = "Connecting live audio…";
      break;
    case "connected":
      text = `Live audio connected${state.remoteParticipants ? ` · ${state.remoteParticipants} other${state.remoteParticipants === 1 ? "" : "s"} in the room` : " · waiting for the others"}.`;
      break;
    case "reconnecting":
      text = "Live audio reconnecting…";
      break;
    case "disconnected":
      text = "Live audio disconnected.";
      break;
    case "failed":
      text = state.detail ?? "Live audio failed.";
      break;
  }

  const toggleMic = async () => {
    try {
      await session.current?.setMicrophone(!state.micOn);
    } catch (error) {
      setState((s) => ({ ...s, detail: liveAudioErrorText(error) }));
    }
  };

  return (
    <section className="live-audio" aria-labelledby="live-audio-title">
      <h2 id="live-audio-title" className="h3">
        Live audio
      </h2>
      <div
        className={`banner ${state.status === "failed" ? "error" : "info"}`}
        role={state.status === "failed" ? "alert" : "status"}
        data-testid="call-status"
        data-state={state.status}
      >
        {text}
        {(state.status === "failed" || state.status === "disconnected") && (
          <div className="row">
            <button type="button" className="btn small" onClick={() => setAttempt((n) => n + 1)}>
              Try again
            </button>
          </div>
        )}
        {state.status === "connected" && (
          <div className="row">
            <button type="button" className="btn small" aria-pressed={state.micOn} onClick={() => void toggleMic()}>
              <MicIcon size={16} />
              {state.micOn ? "Turn live microphone off" : "Turn live microphone on"}
            </button>
            {state.audioBlocked && (
              <button type="button" className="btn small primary" onClick={() => void session.current?.startAudio()}>
                Allow audio
              </button>
            )}
          </div>
        )}
        {state.status === "connected" && state.detail && <p className="form-error">{state.detail}</p>}
      </div>
      <div ref={container} hidden />
    </section>
  );
}
