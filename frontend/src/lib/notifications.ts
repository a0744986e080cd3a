/**
 * Browser notifications, as data: when a new message or a ringing call deserves one, and what
 * it says. Framework-free and clock-injected, so every rule is unit-tested; the component that
 * shows them (components/BrowserNotifications.tsx) only feeds it events and the page's state.
 *
 * A notification is for something that happens while the reader is away from this tab (hidden,
 * or the window not focused): never their own messages, never the messages of a chat they
 * muted (on any device: the server keeps it; a muted chat's calls still ring), never the same message or call twice, never a message the reader could already have
 * seen before going away (one replayed by resume or catch-up). One notification per chat (its
 * `tag`): a newer one replaces the one before.
 */
import { fullName, type Person } from "./names";
import type { ChatSummary, Message } from "./types";

/** The longest body a notification gets (the platform cuts it anyway, and not at a word). */
export const NOTIFICATION_BODY_LIMIT = 140;
/** Messages ids and call ids remembered for deduplication (the oldest are forgotten). */
export const NOTIFIED_MEMORY = 500;
/** How far the server's clock may run behind this one before a live message looks old. */
export const CLOCK_SLACK_MS = 2_000;

export interface NotificationContent {
  chatId: string;
  title: string;
  body: string;
  /** One notification per chat: the browser replaces an earlier one with the same tag. */
  tag: string;
}

/** Only these kinds are worth a notification: call records and a call's spoken turns are
 *  part of a call the reader already heard ringing or is in. */
const NOTIFIED_KINDS: ReadonlySet<Message["kind"]> = new Set(["text", "voice_note"]);

export function notificationTag(chatId: string): string {
  return `commonality-chat-${chatId}`;
}

/** The text cut at `limit` characters (on a word boundary when one is near), with "…". */
export function truncateBody(text: string, limit = NOTIFICATION_BODY_LIMIT): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const chars = Array.from(flat); // never split an emoji or a surrogate pair
  if (chars.length <= limit) return flat;
  const cut = chars.slice(0, limit - 1).join("");
  const space = cut.lastIndexOf(" ");
  return `${space > cut.length * 0.6 ? cut.slice(0, space) : cut}…`;
}

/** The sender as the notification names them: the member's full name once the chat's members
 *  are loaded, the other person's username in a direct chat, else "Someone". */
export function senderName(userId: string, chat: ChatSummary | undefined, members: readonly Person[] | undefined): string {
  const member = members?.find((m) => m.user_id === userId);
  if (member) return fullName(member);
  if (chat && chat.other_user_id === userId && chat.other_username) return chat.other_username;
  return "Someone";
}

/** "Ana Lima", or "Ana Lima · Trip to Lisbon" in a group. */
function titleFor(sender: string, chat: ChatSummary | undefined): string {
  return chat?.kind === "group" && chat.title ? `${sender} · ${chat.title}` : sender;
}

export interface MessageEvent {
  chatId: string;
  message: Message;
  chat: ChatSummary | undefined;
  members: readonly Person[] | undefined;
  muted: boolean;
}

export interface CallEvent {
  chatId: string;
  callId: string;
  callerName: string | null;
  chat: ChatSummary | undefined;
}

/**
 * The decision, with the little state it needs: since when the reader is away (and what each
 * chat's newest message was then), and what was already notified.
 */
export class NotificationGate {
  private awaySince: number | null = null;
  private seqsWhenAway: Readonly<Record<string, number>> = {};
  private seen = new Set<string>();

  constructor(
    private readonly meId: string,
    private readonly now: () => number = Date.now,
  ) {}

  get away(): boolean {
    return this.awaySince !== null;
  }

  /**
   * The page's state changed (visibility, focus). Going away remembers when, and each chat's
   * newest sequence number then: anything at or before it was already there to be seen.
   */
  setAway(away: boolean, lastSeqs: () => Readonly<Record<string, number>>): void {
    if (away && this.awaySince === null) {
      this.awaySince = this.now();
      this.seqsWhenAway = lastSeqs();
    } else if (!away) {
      this.awaySince = null;
      this.seqsWhenAway = {};
    }
  }

  /** A live `message` frame: what to show, or null. */
  message({ chatId, message, chat, members, muted }: MessageEvent): NotificationContent | null {
    const key = `m:${message.message_id}`;
    if (this.seen.has(key)) return null;
    this.remember(key);
    if (this.awaySince === null || muted) return null;
    if (message.from_user_id === this.meId || !NOTIFIED_KINDS.has(message.kind)) return null;
    if (message.seq <= (this.seqsWhenAway[chatId] ?? 0)) return null;
    const sentAt = Date.parse(message.timestamp);
    if (Number.isFinite(sentAt) && sentAt < this.awaySince - CLOCK_SLACK_MS) return null;
    const body = truncateBody(message.text);
    if (!body) return null;
    return { chatId, title: titleFor(senderName(message.from_user_id, chat, members), chat), body, tag: notificationTag(chatId) };
  }

  /** A call ringing for me: shown once per call, and only if it starts ringing while I'm away
   *  (one seen ringing on the page was already seen). */
  call({ chatId, callId, callerName, chat }: CallEvent): NotificationContent | null {
    const key = `c:${callId}`;
    if (this.seen.has(key)) return null;
    this.remember(key);
    // Not even in a muted chat: someone calling wants an answer now (as WhatsApp rings).
    if (this.awaySince === null) return null;
    const caller = callerName || "Someone";
    const body = chat?.kind === "group" && chat.title ? `${caller} is calling in ${chat.title}` : `${caller} is calling`;
    return { chatId, title: "Incoming call", body, tag: notificationTag(chatId) };
  }

  private remember(key: string): void {
    this.seen.add(key);
    if (this.seen.size > NOTIFIED_MEMORY) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
