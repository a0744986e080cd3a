"use client";

/**
 * Replies on screen: the quote inside a reply's bubble (a button that jumps to the quoted
 * message), the "Reply" action on a message, and the "Replying to …" bar over the composer.
 * What a quote says comes from the server, in the reader's language (lib/replies.ts).
 */
import { createContext, useCallback, useContext, useEffect, useEffectEvent, useState, type RefObject } from "react";
import { isRtl } from "@/lib/languages";
import type { ReplyQuote as Quote } from "@/lib/types";
import "./replies.css";

/** What a conversation offers its rows: start a reply to a message, jump to a quoted one. */
export interface Replies {
  startReply: (quote: Quote) => void;
  jumpTo: (seq: number) => void;
}

export const RepliesContext = createContext<Replies | null>(null);

export function useReplies(): Replies | null {
  return useContext(RepliesContext);
}

/** The quote the composer is replying with: set by a message's Reply (which puts the focus in
 *  the message box), taken by the send, dropped by cancel. */
export function useReplyDraft(): { quote: Quote | null; start: (quote: Quote) => void; cancel: () => void; take: () => Quote | undefined } {
  const [quote, setQuote] = useState<Quote | null>(null);
  const focusComposer = () => requestAnimationFrame(() => document.querySelector<HTMLTextAreaElement>("[data-testid=composer]")?.focus());
  const start = useCallback((next: Quote) => {
    setQuote(next);
    focusComposer();
  }, []);
  const cancel = useCallback(() => {
    setQuote(null);
    focusComposer();
  }, []);
  const take = () => {
    setQuote(null);
    return quote ?? undefined;
  };
  return { quote, start, cancel, take };
}

/** The quote inside a reply's bubble; activating it shows the quoted message. */
export function ReplyQuote({ quote, author, onJump }: { quote: Quote; author: string; onJump?: (seq: number) => void }) {
  const deleted = quote.deleted === true;
  return (
    <button
      type="button"
      className={`reply-quote${deleted ? " deleted" : ""}`}
      onClick={() => onJump?.(quote.seq)}
      disabled={!onJump}
      data-testid="reply-quote"
      data-quoted-seq={quote.seq}
    >
      <span className="visually-hidden">Replying to </span>
      <span className="reply-quote-author">{author}</span>
      <span className="visually-hidden">: </span>
      {deleted ? (
        <span className="reply-quote-text">Message deleted</span>
      ) : (
        <span className="reply-quote-text" dir={isRtl(quote.language) ? "rtl" : "auto"} lang={quote.language || undefined}>
          {quote.text}
        </span>
      )}
      <span className="visually-hidden"> (show that message)</span>
    </button>
  );
}

/** The small "Reply" action on a message. Its name is only "Reply": the message it sits in
 *  already says who wrote it, and a name is said once per message. */
export function ReplyButton({ onReply }: { onReply: () => void }) {
  return (
    <button type="button" className="link-btn reply-btn" onClick={onReply} data-testid="reply-button">
      Reply
    </button>
  );
}

/**
 * "Replying to <name>: <quote>" over the composer, with a cancel button; Escape cancels while
 * the focus is in the message box or in the bar.
 */
export function ReplyingTo({
  quote,
  author,
  onCancel,
  composerRef,
}: {
  quote: Quote;
  author: string;
  onCancel: () => void;
  composerRef?: RefObject<HTMLElement | null>;
}) {
  const onEscape = useEffectEvent((event: KeyboardEvent) => {
    const active = document.activeElement;
    const bar = document.getElementById("replying-to");
    const inComposer = composerRef?.current ? composerRef.current.contains(active) : active?.matches?.("[data-testid=composer]");
    if (!inComposer && !(bar?.contains(active) ?? false)) return;
    event.preventDefault();
    onCancel();
  });
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key === "Escape" && !event.defaultPrevented) onEscape(event);
    };
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, []);
  return (
    <div className="replying-to" id="replying-to" data-testid="replying-to" role="group" aria-label={`Replying to ${author}`}>
      <p className="replying-to-text">
        Replying to <strong>{author}</strong>:{" "}
        <span dir={isRtl(quote.language) ? "rtl" : "auto"} lang={quote.language || undefined}>
          {quote.text}
        </span>
      </p>
      <button type="button" className="link-btn replying-to-cancel" onClick={onCancel} aria-label="Cancel reply (Escape)" data-testid="cancel-reply">
        ✕
      </button>
    </div>
  );
}
