/**
 * Presence: who among the open chat's other members is online, and when the others were last
 * seen. One chat is watched per socket (`presence_watch`); the watch is sent again whenever the
 * socket (re)opens, and the server answers with a `presence` frame per member, then one per
 * change. Framework-free: React reads it through subscribe/get (components/presenceHooks.ts).
 */
import type { PresenceFrame } from "./protocol";

export interface Presence {
  online: boolean;
  /** ISO time the member's last socket closed; null while online, unknown or hidden. */
  lastSeen: string | null;
}

type Send = (frame: { type: "presence_watch"; chat_id: string } | { type: "presence_unwatch" }) => boolean;

export class PresenceClient {
  private readonly send: Send;
  private watching: string | null = null;
  private states = new Map<string, Presence>();
  private listeners = new Set<() => void>();

  constructor(send: Send) {
    this.send = send;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** A member's presence as last heard; undefined until the server said. */
  get(userId: string): Presence | undefined {
    return this.states.get(userId);
  }

  get watchedChat(): string | null {
    return this.watching;
  }

  /** A chat is open: watch its members (replacing any other chat's watch). */
  watch(chatId: string): void {
    if (this.watching === chatId) return;
    this.watching = chatId;
    this.states = new Map();
    this.changed();
    this.send({ type: "presence_watch", chat_id: chatId });
  }

  /** The chat closed: stop, unless another chat's watch already replaced it. */
  unwatch(chatId: string): void {
    if (this.watching !== chatId) return;
    this.watching = null;
    this.states = new Map();
    this.changed();
    this.send({ type: "presence_unwatch" });
  }

  /** The socket (re)opened: a new socket watches nothing until told. */
  handleOpen(): void {
    if (this.watching) this.send({ type: "presence_watch", chat_id: this.watching });
  }

  /** The socket dropped: what was known may be stale by the time it is back. */
  connectionLost(): void {
    if (!this.states.size) return;
    this.states = new Map();
    this.changed();
  }

  handleFrame(frame: PresenceFrame): void {
    if (!this.watching) return;
    this.states = new Map(this.states).set(frame.user_id, { online: frame.online, lastSeen: frame.last_seen });
    this.changed();
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "online", "last seen just now", "last seen 5 minutes ago", "last seen 3 hours ago",
 *  "last seen yesterday", "last seen 4 days ago", "last seen on 2 March"; null when there is
 *  nothing to say (unknown, or hidden with no last seen). */
export function presenceText(presence: Presence | undefined, now: number): string | null {
  if (!presence) return null;
  if (presence.online) return "online";
  if (!presence.lastSeen) return null;
  const seen = new Date(presence.lastSeen).getTime();
  if (Number.isNaN(seen)) return null;
  const ago = Math.max(0, now - seen);
  if (ago < MINUTE) return "last seen just now";
  if (ago < HOUR) {
    const minutes = Math.floor(ago / MINUTE);
    return `last seen ${minutes} minute${minutes === 1 ? "" : "s"} ago`;
  }
  if (ago < DAY) {
    const hours = Math.floor(ago / HOUR);
    return `last seen ${hours} hour${hours === 1 ? "" : "s"} ago`;
  }
  const days = Math.floor(ago / DAY);
  if (days === 1) return "last seen yesterday";
  if (days < 7) return `last seen ${days} days ago`;
  return `last seen on ${new Date(seen).toLocaleDateString(undefined, { month: "long", day: "numeric" })}`;
}

/** How long until presenceText's answer may change: the text refreshes then, not every second. */
export function presenceRefreshMs(presence: Presence | undefined, now: number): number | null {
  if (!presence || presence.online || !presence.lastSeen) return null;
  const ago = now - new Date(presence.lastSeen).getTime();
  if (Number.isNaN(ago)) return null;
  if (ago < HOUR) return MINUTE - (Math.max(0, ago) % MINUTE);
  if (ago < DAY) return HOUR - (ago % HOUR);
  return HOUR;
}
