/**
 * What a conversation lists, as data: its rows (day separators, the "New messages" line, stored,
 * streaming and outgoing messages, each marked when it starts a run from one sender) and the
 * delivery marks on my messages. Pure, so the component only renders them.
 */
import type { StreamingMessage, Thread } from "./chatState";
import { dayKey, dayLabel } from "./format";
import type { OutboxItem } from "./outbox";
import type { Message } from "./types";

/** Messages further apart than this start a new run (the sender's name and avatar again). */
const RUN_GAP_MS = 5 * 60_000;

export type Row =
  | { kind: "day"; key: string; label: string }
  | { kind: "unread"; key: string }
  | { kind: "message"; key: string; message: Message; first: boolean }
  | { kind: "streaming"; key: string; streaming: StreamingMessage; first: boolean }
  | { kind: "outgoing"; key: string; item: OutboxItem; first: boolean };

/** Rows that keep their place among the others as older pages come in: all but a day's
 *  separator, which moves up to the first message of its day. */
export function isMessageKey(key: string): boolean {
  return !key.startsWith("day-");
}

/** "Sent" on my last message, or "Seen" ("Seen by Ana" in a group) on the last one read. */
export interface Delivery {
  state: "sent" | "seen";
  label: string;
}

/**
 * The rows of a conversation. `readMark` is how far I had read when the chat opened: the
 * "New messages" line goes above the first later message from someone else (none when 0 or
 * unknown).
 */
export function messageRows({
  thread,
  outgoing,
  meId,
  readMark,
}: {
  thread: Thread | undefined;
  outgoing: readonly OutboxItem[];
  meId: string;
  readMark: number | null;
}): Row[] {
  const out: Row[] = [];
  let lastDay = "";
  let lastSender = "";
  let lastTime = 0;
  let unreadPlaced = false;
  const startRun = (sender: string, timestamp: string) => {
    const t = new Date(timestamp).getTime();
    const first = sender !== lastSender || t - lastTime > RUN_GAP_MS;
    lastSender = sender;
    lastTime = t;
    return first;
  };
  const addDay = (timestamp: string) => {
    const key = dayKey(timestamp);
    if (key !== lastDay) {
      lastDay = key;
      lastSender = "";
      out.push({ kind: "day", key: `day-${key}`, label: dayLabel(timestamp) });
    }
  };
  for (const message of thread?.messages ?? []) {
    addDay(message.timestamp);
    if (!unreadPlaced && readMark !== null && readMark > 0 && message.seq > readMark && message.from_user_id !== meId) {
      unreadPlaced = true;
      lastSender = "";
      out.push({ kind: "unread", key: "unread" });
    }
    out.push({ kind: "message", key: message.message_id, message, first: startRun(message.from_user_id, message.timestamp) });
  }
  const streaming = Object.values(thread?.streaming ?? {}).sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1));
  for (const s of streaming) {
    addDay(s.timestamp);
    out.push({ kind: "streaming", key: `s-${s.message_id}`, streaming: s, first: startRun(s.from_user_id, s.timestamp) });
  }
  for (const item of outgoing) {
    const iso = new Date(item.created_at).toISOString();
    addDay(iso);
    out.push({ kind: "outgoing", key: `o-${item.client_msg_id}`, item, first: startRun(meId, iso) });
  }
  return out;
}

/**
 * Delivery marks by message id: my last message is "Sent" until someone has read it; then it,
 * or else my latest message someone has read, is "Seen" ("Seen by …" in a group, with
 * `nameOf` naming the readers).
 */
export function deliveryMarks({
  thread,
  meId,
  isGroup,
  nameOf,
}: {
  thread: Thread | undefined;
  meId: string;
  isGroup: boolean;
  nameOf: (userId: string) => string;
}): Map<string, Delivery> {
  const marks = new Map<string, Delivery>();
  const mine = (thread?.messages ?? []).filter((m) => m.from_user_id === meId);
  if (!mine.length) return marks;
  const reads = Object.entries(thread?.reads ?? {}).filter(([userId]) => userId !== meId);
  const readersOf = (seq: number) => reads.filter(([, readSeq]) => readSeq >= seq).map(([userId]) => userId);
  const seen = (readers: string[]): Delivery => ({ state: "seen", label: isGroup ? `Seen by ${readers.map(nameOf).join(", ")}` : "Seen" });
  const last = mine[mine.length - 1];
  const lastReaders = readersOf(last.seq);
  if (lastReaders.length) {
    marks.set(last.message_id, seen(lastReaders));
    return marks;
  }
  marks.set(last.message_id, { state: "sent", label: "Sent" });
  for (let i = mine.length - 2; i >= 0; i--) {
    const readers = readersOf(mine[i].seq);
    if (readers.length) {
      marks.set(mine[i].message_id, seen(readers));
      break;
    }
  }
  return marks;
}
