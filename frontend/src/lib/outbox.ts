/**
 * Messages the user wrote that the server has not acknowledged yet.
 *
 * Every item carries a client_msg_id (a UUID) chosen once, when the user pressed send, so a
 * resend after a dropped connection is recognised by the server as the same message (it acks
 * with `duplicate: true`) instead of being stored twice. Items are persisted (localStorage),
 * so a reload or a closed tab loses nothing; they leave the outbox only when acknowledged,
 * when the message itself comes back from the server, or when the user discards them.
 *
 * Within one chat, items go out one at a time in the order written, so the server assigns
 * sequence numbers in that order even when translations take different times.
 */
import type { ReplyQuote } from "./types";
import { uuid } from "./uuid";

export type OutboxStatus = "queued" | "sending" | "failed";

export interface OutboxItem {
  client_msg_id: string;
  chat_id: string;
  text: string;
  /** When the user pressed send (epoch ms). */
  created_at: number;
  status: OutboxStatus;
  attempts: number;
  /** Why the last attempt failed, in words. */
  error?: string;
  /** Not before this time (epoch ms): a retry after a transient server error. */
  not_before?: number;
  /** Times the server refused it as `busy` (it had no room; nothing was stored). */
  busy?: number;
  /** The message it replies to, as the writer saw it (sent as `reply_to_seq`). */
  reply_to?: ReplyQuote;
}

/** What the server said with a refusal, besides its words (the socket's error frame). */
export interface Refusal {
  code?: string;
  /** Seconds to wait before trying again. */
  retry_after?: number;
}

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Server errors worth retrying on their own (rate limit, outage, provider hiccup). */
const TRANSIENT_ERROR = /try again/i;
export const MAX_AUTOMATIC_ATTEMPTS = 5;
/**
 * A `busy` refusal (the server is at capacity and stored nothing) is retried on its own up
 * to this many times, waiting `retry_after`, then doubling per refusal up to BUSY_MAX_WAIT_MS,
 * each wait stretched by up to half again at random so refused clients do not all return at
 * once. Busy refusals do not use up MAX_AUTOMATIC_ATTEMPTS.
 */
export const MAX_BUSY_RETRIES = 20;
export const BUSY_MAX_WAIT_MS = 30_000;

export class Outbox {
  private list: OutboxItem[] = [];
  private listeners = new Set<() => void>();
  /** Settled or discarded here: never taken back from storage. */
  private removed = new Set<string>();

  constructor(
    private readonly storage: StorageLike | null,
    private readonly key: string,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.list = this.load();
  }

  /** Items in storage, with anything that was in flight put back in the queue. */
  private readStored(): OutboxItem[] {
    if (!this.storage) return [];
    try {
      const raw = this.storage.getItem(this.key);
      const parsed: unknown = raw ? JSON.parse(raw) : [];
      if (!Array.isArray(parsed)) return [];
      return parsed
        .filter(
          (item): item is OutboxItem =>
            item && typeof item.client_msg_id === "string" && typeof item.chat_id === "string" && typeof item.text === "string",
        )
        // Whatever was in flight when its page went away goes out again (deduplicated).
        .map((item) => (item.status === "sending" ? { ...item, status: "queued" as const } : item));
    } catch {
      return [];
    }
  }

  private load(): OutboxItem[] {
    return this.readStored();
  }

  /** This tab's items plus any another tab wrote meanwhile (each tab sends what it sees;
   * the server deduplicates by client_msg_id). */
  private merged(): OutboxItem[] {
    const mine = new Set(this.list.map((item) => item.client_msg_id));
    const foreign = this.readStored().filter((item) => !mine.has(item.client_msg_id) && !this.removed.has(item.client_msg_id));
    if (!foreign.length) return this.list;
    return [...this.list, ...foreign].sort((a, b) => a.created_at - b.created_at);
  }

  private save(): void {
    if (this.storage) {
      this.list = this.merged();
      try {
        if (this.list.length) this.storage.setItem(this.key, JSON.stringify(this.list));
        else this.storage.removeItem(this.key);
      } catch {
        // Storage full or unavailable: the queue still lives in memory.
      }
    }
    for (const listener of this.listeners) listener();
  }

  /** Another tab changed the stored outbox: pick up what it added. */
  absorb(): void {
    const merged = this.merged();
    if (merged === this.list) return;
    this.list = merged;
    for (const listener of this.listeners) listener();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  items(): readonly OutboxItem[] {
    return this.list;
  }

  get(clientMsgId: string): OutboxItem | undefined {
    return this.list.find((item) => item.client_msg_id === clientMsgId);
  }

  forChat(chatId: string): OutboxItem[] {
    return this.list.filter((item) => item.chat_id === chatId);
  }

  add(chatId: string, text: string, clientMsgId: string = uuid(), replyTo?: ReplyQuote): OutboxItem {
    const item: OutboxItem = {
      client_msg_id: clientMsgId,
      chat_id: chatId,
      text,
      created_at: this.now(),
      status: "queued",
      attempts: 0,
      ...(replyTo ? { reply_to: replyTo } : {}),
    };
    this.list = [...this.list, item];
    this.save();
    return item;
  }

  private update(clientMsgId: string, change: (item: OutboxItem) => OutboxItem): OutboxItem | undefined {
    let changed: OutboxItem | undefined;
    this.list = this.list.map((item) => {
      if (item.client_msg_id !== clientMsgId) return item;
      changed = change(item);
      return changed;
    });
    if (changed) this.save();
    return changed;
  }

  markSending(clientMsgId: string): void {
    this.update(clientMsgId, (item) => ({ ...item, status: "sending", attempts: item.attempts + 1, error: undefined }));
  }

  /** The server has the message (ack, duplicate ack, or the message came back): done. */
  settle(clientMsgId: string): OutboxItem | undefined {
    this.removed.add(clientMsgId);
    const item = this.get(clientMsgId);
    if (!item) return undefined;
    this.list = this.list.filter((other) => other.client_msg_id !== clientMsgId);
    this.save();
    return item;
  }

  /**
   * The server refused the message. Transient refusals are retried on their own a few
   * times with growing waits; anything else waits for the user (Retry or Discard).
   */
  fail(clientMsgId: string, error: string, refusal: Refusal = {}): OutboxItem | undefined {
    const retryAfterMs = (refusal.retry_after ?? 0) * 1000;
    return this.update(clientMsgId, (item) => {
      if (refusal.code === "busy") {
        const busy = (item.busy ?? 0) + 1;
        if (busy > MAX_BUSY_RETRIES) return { ...item, status: "failed", error, busy };
        const wait = Math.min(BUSY_MAX_WAIT_MS, Math.max(retryAfterMs, 1000 * 2 ** (busy - 1)));
        return { ...item, status: "queued", error, busy, not_before: this.now() + Math.round(wait * (1 + this.random() * 0.5)) };
      }
      if (TRANSIENT_ERROR.test(error) && item.attempts - (item.busy ?? 0) < MAX_AUTOMATIC_ATTEMPTS) {
        const wait = Math.max(retryAfterMs, 1500 * 2 ** (item.attempts - (item.busy ?? 0) - 1));
        return { ...item, status: "queued", error, not_before: this.now() + wait };
      }
      return { ...item, status: "failed", error };
    });
  }

  retry(clientMsgId: string): void {
    this.update(clientMsgId, (item) => ({ ...item, status: "queued", attempts: 0, busy: 0, error: undefined, not_before: undefined }));
  }

  discard(clientMsgId: string): void {
    this.settle(clientMsgId);
  }

  /** The connection dropped: anything in flight is sent again on reconnect. */
  requeueInFlight(): void {
    if (!this.list.some((item) => item.status === "sending")) return;
    this.list = this.list.map((item) => (item.status === "sending" ? { ...item, status: "queued" } : item));
    this.save();
  }

  /** Drop items of a chat the user can no longer write to. */
  dropChat(chatId: string): void {
    const kept = this.list.filter((item) => item.chat_id !== chatId);
    for (const item of this.list) if (item.chat_id === chatId) this.removed.add(item.client_msg_id);
    if (kept.length !== this.list.length) {
      this.list = kept;
      this.save();
    }
  }

  /**
   * What to send now: per chat, the oldest queued item, unless one of that chat is already
   * in flight (order is kept) or it must wait for a retry delay. Failed items don't block.
   */
  ready(): OutboxItem[] {
    const now = this.now();
    const busy = new Set(this.list.filter((item) => item.status === "sending").map((item) => item.chat_id));
    const chosen = new Set<string>();
    const out: OutboxItem[] = [];
    for (const item of this.list) {
      if (item.status !== "queued" || busy.has(item.chat_id) || chosen.has(item.chat_id)) continue;
      chosen.add(item.chat_id);
      if (item.not_before && item.not_before > now) continue;
      out.push(item);
    }
    return out;
  }

  /** The earliest time a waiting item becomes ready, if any is waiting. */
  nextWakeUp(): number | null {
    const times = this.list
      .filter((item) => item.status === "queued" && item.not_before)
      .map((item) => item.not_before as number);
    return times.length ? Math.min(...times) : null;
  }
}
