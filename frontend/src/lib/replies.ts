/**
 * Replies, as data: the quote a reply carries (`reply_to`, resolved by the server in each
 * reader's language), the quote the writer sees while composing, and the `?at=<seq>` link
 * to one message of a chat. Pure, so components only render it.
 */
import type { Message, ReplyQuote } from "./types";

/** As the server cuts a quote (apps/chats/presenters.QUOTE_MAX_CHARS). */
export const QUOTE_MAX_CHARS = 160;

export function quoteText(text: string, max = QUOTE_MAX_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The quote of `message` as I see it now (its text in my language), for the composer and for
 *  my reply until the server's copy of it comes back. */
export function quoteOf(message: Message): ReplyQuote {
  return {
    seq: message.seq,
    message_id: message.message_id,
    from_user_id: message.from_user_id,
    text: quoteText(message.text),
    language: message.language,
  };
}

/** `message_updated` carries no quote (it did not change): keep the one shown. */
export function keepQuote(previous: Message, next: Message): Message {
  if (next.reply_to || !previous.reply_to) return next;
  return { ...next, reply_to: previous.reply_to };
}

/** The message a `?at=` query points at, or null when it says nothing usable. */
export function seqFromQuery(search: string): number | null {
  const raw = new URLSearchParams(search).get("at");
  if (raw === null || !/^[1-9]\d{0,14}$/.test(raw)) return null;
  return Number(raw);
}

/** The conversation's link to one of its messages. */
export function messageHref(chatId: string, seq: number): string {
  return `/chats/${encodeURIComponent(chatId)}?at=${seq}`;
}
