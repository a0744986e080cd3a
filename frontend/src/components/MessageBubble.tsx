"use client";

import type { StreamingMessage } from "@/lib/chatState";
import { timeOfDay } from "@/lib/format";
import { isRtl } from "@/lib/languages";
import type { OutboxItem } from "@/lib/outbox";
import type { Message } from "@/lib/types";
import { ClockIcon } from "./Icons";

export interface Delivery {
  state: "sent" | "seen";
  label: string;
}

function Check({ double }: { double?: boolean }) {
  return (
    <svg width={double ? 18 : 12} height="12" viewBox={double ? "0 0 18 12" : "0 0 12 12"} aria-hidden="true" className="check">
      <path d="M1 6.5l3 3L11 2" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
      {double && <path d="M7 9.5L15 2" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />}
    </svg>
  );
}

export function MessageBubble({
  message,
  mine,
  first,
  senderName,
  showOriginal,
  onToggleOriginal,
  delivery,
  languageName,
}: {
  message: Message;
  mine: boolean;
  first: boolean;
  senderName: string | null;
  showOriginal: boolean;
  onToggleOriginal: () => void;
  delivery?: Delivery;
  languageName: (code: string) => string;
}) {
  const original = message.original_text ?? message.text;
  const originalLanguage = message.original_language ?? message.language;
  const untranslated = !mine && message.translated === false;
  const translated = !mine && !untranslated && originalLanguage !== message.language && original !== message.text;
  const text = translated && showOriginal ? original : message.text;
  const textLanguage = translated && showOriginal ? originalLanguage : message.language;

  return (
    <li
      className={`msg ${mine ? "mine" : "theirs"}${first ? " first" : ""}`}
      data-seq={message.seq}
      data-message-id={message.message_id}
      data-testid="message"
    >
      {senderName && <span className="msg-sender">{senderName}</span>}
      <div className="bubble">
        <p className="msg-text" dir={isRtl(textLanguage) ? "rtl" : "auto"} lang={textLanguage || undefined} data-testid="message-text">
          {text}
        </p>
        <div className="msg-meta">
          {untranslated && (
            <span className="untranslated" title={`Shown in ${languageName(originalLanguage)}; the translation appears here when ready.`} data-testid="untranslated">
              Not translated yet · {languageName(originalLanguage)}
            </span>
          )}
          {translated && (
            <button type="button" className="link-btn orig-toggle" aria-pressed={showOriginal} onClick={onToggleOriginal} data-testid="toggle-original">
              {showOriginal ? "Show translation" : `Show original (${languageName(originalLanguage)})`}
            </button>
          )}
          <time dateTime={message.timestamp}>{timeOfDay(message.timestamp)}</time>
          {delivery && (
            <span className={`delivery ${delivery.state}`} data-testid="delivery">
              <Check double={delivery.state === "seen"} />
              {delivery.label}
            </span>
          )}
        </div>
      </div>
    </li>
  );
}

export function StreamingBubble({
  streaming,
  myLanguage,
  first,
  senderName,
  languageName,
}: {
  streaming: StreamingMessage;
  myLanguage: string;
  first: boolean;
  senderName: string | null;
  languageName: (code: string) => string;
}) {
  const sameLanguage = streaming.original_language === myLanguage;
  const text = sameLanguage ? streaming.original_text : streaming.partial;
  return (
    <li className={`msg theirs streaming${first ? " first" : ""}`} data-testid="streaming-message" aria-busy="true">
      {senderName && <span className="msg-sender">{senderName}</span>}
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
  item,
  first,
  connected,
  onRetry,
  onDiscard,
}: {
  item: OutboxItem;
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
      <div className="bubble">
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
