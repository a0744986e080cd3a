import type { WebSocketLike } from "@/lib/socket";
import type { StorageLike } from "@/lib/outbox";
import { vi } from "vitest";
import type { ChatClient, ClientApi } from "@/lib/client";
import type { ChatSummary, Me, Message } from "@/lib/types";

export const me: Me = { user_id: "me", username: "alice", first_name: "Alice", last_name: "A", native_language: "en", read_languages: [], presence_visible: true, created_at: "2026-01-01T00:00:00+00:00" };

/** A ChatClient's API with no chats, answering as `me`; `overrides` replace calls. */
export function fakeApi(overrides: Partial<ClientApi> = {}): ClientApi {
  return {
    chats: vi.fn(async () => []),
    chat: vi.fn(),
    history: vi.fn(async () => ({ messages: [], next_cursor: null })),
    wsTicket: vi.fn(async () => ({ ticket: "t" })),
    me: vi.fn(async () => me),
    markRead: vi.fn(),
    createDirect: vi.fn(),
    createGroup: vi.fn(),
    leave: vi.fn(),
    addMember: vi.fn(),
    glossary: vi.fn(async (chatId: string) => ({ chat_id: chatId, version: 0, entries: [] })),
    updateGlossary: vi.fn(),
    setMuted: vi.fn(async (chatId: string, muted: boolean) => ({ chat_id: chatId, muted })),
    voiceNote: vi.fn(),
    logoutAll: vi.fn(async () => ({ logged_out: true })),
    ...overrides,
  } as ClientApi;
}

export class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason?: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  sent: Array<Record<string, unknown>> = [];
  /** Binary frames, in order. */
  binary: Uint8Array[] = [];
  /** Every frame in order: JSON frames as objects, binary ones as byte arrays. */
  frames: Array<Record<string, unknown> | Uint8Array> = [];
  closedWith: number | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  static latest(): FakeSocket {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }

  static reset(): void {
    FakeSocket.all = [];
  }

  send(data: string | ArrayBuffer): void {
    if (this.readyState !== 1) throw new Error("not open");
    if (typeof data === "string") {
      const frame = JSON.parse(data);
      this.sent.push(frame);
      this.frames.push(frame);
    } else {
      const bytes = new Uint8Array(data.slice(0));
      this.binary.push(bytes);
      this.frames.push(bytes);
    }
  }

  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }

  // --- driven by the test ---
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }

  serverClose(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code });
  }

  framesOfType(type: string): Array<Record<string, unknown>> {
    return this.sent.filter((frame) => (frame.type ?? "send") === type);
  }
}

export class MemoryStorage implements StorageLike {
  data = new Map<string, string>();
  getItem(key: string): string | null {
    return this.data.has(key) ? (this.data.get(key) as string) : null;
  }
  setItem(key: string, value: string): void {
    this.data.set(key, value);
  }
  removeItem(key: string): void {
    this.data.delete(key);
  }
}

/** Lets pending promise callbacks run (ticket fetches etc.) under fake timers. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

export function message(seq: number, overrides: Partial<Message> = {}): Message {
  return {
    message_id: `m${seq}`,
    text: `text ${seq}`,
    from_user_id: "them",
    language: "en",
    timestamp: `2026-01-01T00:00:${String(seq).padStart(2, "0")}+00:00`,
    seq,
    kind: "text",
    original_text: `text ${seq}`,
    original_language: "en",
    translated: true,
    client_msg_id: null,
    ...overrides,
  };
}

/** A 1:1 chat "c1" with "them", nothing in it yet. */
export function chatSummary(overrides: Partial<ChatSummary> = {}): ChatSummary {
  return {
    chat_id: "c1",
    other_username: "ana",
    other_user_id: "them",
    last_message_preview: null,
    updated_at: "2026-01-01T00:00:00+00:00",
    kind: "direct",
    title: null,
    unread_count: 0,
    last_seq: 0,
    last_read_seq: 0,
    muted: false,
    ...overrides,
  };
}

/** Start the client and open the socket it makes; returns that socket. */
export async function connect(client: ChatClient): Promise<FakeSocket> {
  client.start();
  await settle();
  const ws = FakeSocket.latest();
  ws.open();
  return ws;
}
