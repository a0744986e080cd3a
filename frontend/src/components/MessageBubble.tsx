"use client";

import type { StreamingMessage } from "@/lib/chatState";
import { timeOfDay } from "@/lib/format";
import { isRtl } from "@/lib/languages";
import { translationState } from "@/lib/translationState";
import type { OutboxItem } from "@/lib/outbox";
import type { Delivery } from "@/lib/messageRows";
import type { Message } from "@/lib/types";
import type { ReactNode } from "react";
import { durationLabel } from "@/lib/callState";
import { ClockIcon, MicIcon, PhoneIcon, PhoneOffIcon } from "./Icons";
import { DeletedMessage, EditedMark, MessageMenu } from "./MessageMenu";
import { VoicePlayButton } from "./VoicePlayButton";
import { Reactions } from "./Reactions";

function Check({ double }: { double?: boolean }) {
  return (
    <svg width={double ? 18 : 12} height="12" viewBox={double ? "0 0 18 12" : "0 0 12 12"} aria-hidden="true" className="check">
      <path d="M1 6.5l3 3L11 2" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
      {double && <path d="M7 9.5L15 2" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />}
    </svg>
  );
}

/** Who wrote a message, said first to a screen reader ("Beto: …", "You: …"); the name shown
 *  over a run of someone's messages in a group is for the eyes only, so it is not said twice. */
function Author({ name, shown }: { name: string; shown: string | null }) {
  return (
    <>
      <span className="visually-hidden">{`${name}: `}</span>
      {shown && (
        <span className="msg-sender" aria-hidden="true">
          {shown}
        </span>
      )}
    </>
  );
}

export function MessageBubble({
  chatId,
  message,
  mine,
  first,
  senderName,
  author,
  showOriginal,
  onToggleOriginal,
  delivery,
  languageName,
  senderLanguage,
  quote,
  actions,
}: {
  chatId: string;
  message: Message;
  mine: boolean;
  first: boolean;
  senderName: string | null;
  author: string;
  showOriginal: boolean;
  onToggleOriginal: () => void;
  delivery?: Delivery;
  languageName: (code: string) => string;
  /** The sender's own language, when the chat's members are known. */
  senderLanguage?: string;
  /** What it replies to (ReplyQuote.tsx), shown above its text. */
  quote?: ReactNode;
  /** Actions on it (Reply), beside its time. */
  actions?: ReactNode;
}) {
  if (message.deleted) return <DeletedMessage message={message} mine={mine} first={first} author={author} />;
  const original = message.original_text ?? message.text;
  const originalLanguage = message.original_language ?? message.language;
  const state = translationState(message, mine, senderLanguage);
  const untranslated = state === "untranslated";
  const translated = state === "translated";
  const text = translated && showOriginal ? original : message.text;
  const textLanguage = translated && showOriginal ? originalLanguage : message.language;
  const spoken = message.kind === "voice_note" || message.kind === "voice";

  return (
    <li
      className={`msg ${mine ? "mine" : "theirs"}${first ? " first" : ""}${spoken ? " spoken" : ""}`}
      data-seq={message.seq}
      data-message-id={message.message_id}
      data-kind={message.kind ?? "text"}
      data-testid="message"
    >
      <Author name={author} shown={senderName} />
      <div className="bubble">
        {quote}
        {spoken && (
          <p className="msg-kind">
            <MicIcon size={13} />
            {message.kind === "voice_note" ? "Voice note" : "Said in a call"}
            <VoicePlayButton chatId={chatId} seq={message.seq} languageLabel={languageName(message.language) || message.language} />
          </p>
        )}
        <MessageMenu chatId={chatId} message={message}>
          <p className="msg-text" dir={isRtl(textLanguage) ? "rtl" : "auto"} lang={textLanguage || undefined} data-testid="message-text">
            {text}
          </p>
        </MessageMenu>
        <div className="msg-meta">
          {untranslated && (
            <span className="untranslated" title={`Shown in ${languageName(originalLanguage)}; the translation appears here when ready.`} data-testid="untranslated">
              Not translated yet · {languageName(originalLanguage)}
            </span>
          )}
          {state === "nothing_to_translate" && (
            <span className="translation-note" title="Nothing in it to translate: everyone sees it as written." data-testid="nothing-to-translate">
              As written
            </span>
          )}
          {state === "reader_reads_language" && (
            <span className="translation-note" title={`Written in ${languageName(originalLanguage)}, which you read: shown as written.`} data-testid="reads-original">
              As written
            </span>
          )}
          {state === "written_in_your_language" && (
            <span className="translation-note" title={`Written in ${languageName(message.language)}, your language: nothing to translate.`} data-testid="written-in-your-language">
              As written
            </span>
          )}
          {translated && (
            <button type="button" className="link-btn orig-toggle" aria-pressed={showOriginal} onClick={onToggleOriginal} data-testid="toggle-original">
              {showOriginal ? "Show translation" : `Show original (${languageName(originalLanguage)})`}
            </button>
          )}
          <EditedMark message={message} />
          {actions}
          <time dateTime={message.timestamp}>{timeOfDay(message.timestamp)}</time>
          {delivery && (
            <span className={`delivery ${delivery.state}`} data-testid="delivery">
              <Check double={delivery.state === "seen"} />
              {delivery.label}
            </span>
          )}
        </div>
      </div>
      <Reactions chatId={chatId} message={message} mine={mine} />
    </li>
  );
}

export function StreamingBubble({
  streaming,
  myLanguage,
  first,
  senderName,
  author,
  languageName,
}: {
  streaming: StreamingMessage;
  myLanguage: string;
  first: boolean;
  senderName: string | null;
  author: string;
  languageName: (code: string) => string;
}) {
  const sameLanguage = streaming.original_language === myLanguage;
  const text = sameLanguage ? streaming.original_text : streaming.partial;
  return (
    <li className={`msg theirs streaming${first ? " first" : ""}`} data-testid="streaming-message" aria-busy="true">
      <Author name={author} shown={senderName} />
      <div className="bubble">
        {text ? (
          <p className="msg-text" dir="auto" lang={sameLanguage ? streaming.original_language : myLanguage}>
            {text}
            {!sameLanguage && <span className="caret" aria-hidden="true" />}
          </p>
        ) : (
          <p className="msg-text pending-original" dir="auto" lang={streaming.original_language}>
            {streaming.original_text}
          </p>
        )}
        <div className="msg-meta">
          <span className="translating">
            {sameLanguage ? "Sending…" : `Translating from ${languageName(streaming.original_language)}…`}
          </span>
        </div>
      </div>
    </li>
  );
}

export function OutgoingBubble({
  author,
  item,
  first,
  connected,
  onRetry,
  onDiscard,
  quote,
}: {
  author: string;
  item: OutboxItem;
  /** What it replies to (ReplyQuote.tsx). */
  quote?: ReactNode;
  first: boolean;
  connected: boolean;
  onRetry: () => void;
  onDiscard: () => void;
}) {
  const failed = item.status === "failed";
  let status: string;
  if (failed) status = "Not sent";
  else if (!connected) status = "Waiting for connection";
  else if (item.error) status = "Retrying…";
  else status = "Sending…";

  return (
    <li className={`msg mine outgoing${failed ? " failed" : ""}${first ? " first" : ""}`} data-testid="outgoing-message" data-status={failed ? "failed" : connected ? "sending" : "waiting"}>
      <Author name={author} shown={null} />
      <div className="bubble">
        {quote}
        <p className="msg-text" dir="auto">
          {item.text}
        </p>
        <div className="msg-meta">
          <time dateTime={new Date(item.created_at).toISOString()}>{timeOfDay(new Date(item.created_at).toISOString())}</time>
          <span className={`delivery ${failed ? "failed" : "pending"}`} data-testid="delivery">
            {failed ? (
              <span aria-hidden="true">!</span>
            ) : (
              <ClockIcon />
            )}
            {status}
          </span>
        </div>
      </div>
      {failed && (
        <div className="msg-failure" role="alert">
          <span>{item.error || "The message could not be sent."}</span>
          <button type="button" className="link-btn" onClick={onRetry}>
            Retry
          </button>
          <button type="button" className="link-btn danger" onClick={onDiscard}>
            Delete
          </button>
        </div>
      )}
    </li>
  );
}

/** A call in the history (kind "call"): its outcome in the reader's language, centred. */
export function CallRecord({ message, mine }: { message: Message; mine: boolean }) {
  const outcome = typeof message.meta?.outcome === "string" ? message.meta.outcome : "ended";
  const duration = typeof message.meta?.duration_seconds === "number" ? message.meta.duration_seconds : null;
  const missed = outcome === "missed" || (outcome === "cancelled" && !mine) || (outcome === "declined" && mine);
  return (
    <li
      className={`call-record ${outcome}${missed ? " missed" : ""}`}
      data-seq={message.seq}
      data-message-id={message.message_id}
      data-testid="call-record"
      data-outcome={outcome}
    >
      <span className="call-record-icon" aria-hidden="true">
        {outcome === "ended" ? <PhoneIcon size={14} /> : <PhoneOffIcon size={14} />}
      </span>
      <span dir="auto" lang={message.language || undefined}>
        {message.text}
      </span>
      {duration !== null && !message.text.includes(durationLabel(duration)) && <span className="muted"> · {durationLabel(duration)}</span>}
      <time dateTime={message.timestamp}>{timeOfDay(message.timestamp)}</time>
    </li>
  );
}
