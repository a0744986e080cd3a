import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "@/lib/api";
import { Backoff } from "@/lib/backoff";
import { ChatClient, type ClientApi } from "@/lib/client";
import type { ChatSummary } from "@/lib/types";
import { FakeSocket, MemoryStorage, chatSummary, connect, fakeApi, me, message, settle } from "./fakes";

const chat: ChatSummary = chatSummary({ other_username: "bruno" });

function apiWithTheChat(overrides: Partial<ClientApi> = {}): ClientApi {
  return fakeApi({
    chats: vi.fn(async () => [chat]),
    chat: vi.fn(async () => ({ ...chat, members: [] })),
    ...overrides,
  });
}

function makeClient(options: { api?: ClientApi; storage?: MemoryStorage; online?: () => boolean } = {}) {
  const onSessionExpired = vi.fn();
  const client = new ChatClient({
    api: options.api ?? apiWithTheChat(),
    me,
    wsUrl: "ws://api.test",
    storage: options.storage ?? new MemoryStorage(),
    onSessionExpired,
    createSocket: (url) => new FakeSocket(url),
    backoff: new Backoff({ baseMs: 1000, random: () => 1 }),
    isOnline: options.online,
  });
  return { client, onSessionExpired };
}

beforeEach(() => {
  FakeSocket.reset();
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("ChatClient: never lose a message", () => {
  it("queues while offline, persists, and sends once connected", async () => {
    let online = false;
    const storage = new MemoryStorage();
    const { client } = makeClient({ storage, online: () => online });
    client.start();
    await settle();
    const item = client.send("c1", "written offline");
    expect(client.getSnapshot().outbox).toHaveLength(1);
    expect(storage.getItem("commonality.outbox.me")).toContain("written offline");
    expect(FakeSocket.all).toHaveLength(0);

    online = true;
    client.socket.setOnline(true);
    await settle();
    const ws = FakeSocket.latest();
    ws.open();
    expect(ws.framesOfType("send")).toEqual([{ type: "send", chat_id: "c1", text: "written offline", client_msg_id: item.client_msg_id }]);
    expect(client.getSnapshot().outbox[0].status).toBe("sending");

    ws.receive({ type: "ack", chat_id: "c1", client_msg_id: item.client_msg_id, message_id: "m1", seq: 1, timestamp: "2026-01-01T00:00:01+00:00", duplicate: false });
    expect(client.getSnapshot().outbox).toHaveLength(0);
    expect(client.state.threads.c1.messages.map((m) => [m.seq, m.text])).toEqual([[1, "written offline"]]);
    client.stop();
  });

  it("resends with the same client_msg_id after a drop, and shows the message once", async () => {
    const { client } = makeClient();
    const first = await connect(client);
    await settle();
    const item = client.send("c1", "hello");
    expect(first.framesOfType("send")).toHaveLength(1);
    first.serverClose(1006); // dropped before the ack
    expect(client.getSnapshot().outbox[0].status).toBe("queued");

    await vi.advanceTimersByTimeAsync(1000);
    const second = FakeSocket.latest();
    second.open();
    // resume first, then the resend with the same id
    expect(second.sent[0]).toMatchObject({ type: "resume", chats: { c1: 0 } });
    expect(second.framesOfType("send")).toEqual([{ type: "send", chat_id: "c1", text: "hello", client_msg_id: item.client_msg_id }]);

    // the server had stored it: the resume brings it back, then the resend is acked as a duplicate
    second.receive({ type: "message", chat_id: "c1", message: message(1, { message_id: "m1", from_user_id: "me", text: "hello", client_msg_id: item.client_msg_id }) });
    second.receive({ type: "ack", chat_id: "c1", client_msg_id: item.client_msg_id, message_id: "m1", seq: 1, duplicate: true });
    expect(client.getSnapshot().outbox).toHaveLength(0);
    expect(client.state.threads.c1.messages.map((m) => m.message_id)).toEqual(["m1"]);
    client.stop();
  });

  it("an ack followed by the server's echo keeps one copy", async () => {
    const { client } = makeClient();
    const ws = await connect(client);
    const item = client.send("c1", "hi");
    ws.receive({ type: "ack", chat_id: "c1", client_msg_id: item.client_msg_id, message_id: "m1", seq: 1, duplicate: false });
    ws.receive({ type: "message", chat_id: "c1", message: message(1, { message_id: "m1", from_user_id: "me", text: "hi", client_msg_id: item.client_msg_id }) });
    expect(client.state.threads.c1.messages).toHaveLength(1);
    client.stop();
  });

  it("sends one message per chat at a time, in order", async () => {
    const { client } = makeClient();
    const ws = await connect(client);
    const a = client.send("c1", "one");
    client.send("c1", "two");
    expect(ws.framesOfType("send").map((f) => f.text)).toEqual(["one"]);
    ws.receive({ type: "ack", chat_id: "c1", client_msg_id: a.client_msg_id, message_id: "m1", seq: 1, duplicate: false });
    expect(ws.framesOfType("send").map((f) => f.text)).toEqual(["one", "two"]);
    client.stop();
  });

  it("marks a refused message failed with the server's words; retry sends it again", async () => {
    const { client } = makeClient();
    const ws = await connect(client);
    const item = client.send("c1", "x");
    ws.receive({ error: "Not a member of this chat", chat_id: "c1", client_msg_id: item.client_msg_id });
    expect(client.getSnapshot().outbox[0]).toMatchObject({ status: "failed", error: "Not a member of this chat" });
    client.retry(item.client_msg_id);
    expect(ws.framesOfType("send")).toHaveLength(2);
    client.stop();
  });

  it("retries a rate-limited message by itself", async () => {
    const { client } = makeClient();
    const ws = await connect(client);
    const item = client.send("c1", "x");
    ws.receive({ error: "too many messages: at most 30 every 10 seconds; try again shortly", chat_id: "c1", client_msg_id: item.client_msg_id });
    expect(ws.framesOfType("send")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1600);
    expect(ws.framesOfType("send")).toHaveLength(2);
    client.stop();
  });

  it("resends a message refused busy, same client_msg_id, after retry_after and backing off", async () => {
    const { client } = makeClient();
    const ws = await connect(client);
    const item = client.send("c1", "x");
    const busy = { error: "The server is busy; try again in a moment", chat_id: "c1", client_msg_id: item.client_msg_id, retry_after: 1, code: "busy" };
    ws.receive(busy);
    expect(client.getSnapshot().outbox[0]).toMatchObject({ status: "queued", busy: 1 });
    await vi.advanceTimersByTimeAsync(900);
    expect(ws.framesOfType("send")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(700); // 1 s, stretched by up to half again
    expect(ws.framesOfType("send").map((f) => f.client_msg_id)).toEqual([item.client_msg_id, item.client_msg_id]);
    ws.receive(busy);
    await vi.advanceTimersByTimeAsync(1600);
    expect(ws.framesOfType("send")).toHaveLength(2); // the second wait is 2 s or more
    await vi.advanceTimersByTimeAsync(1500);
    expect(ws.framesOfType("send")).toHaveLength(3);
    ws.receive({ type: "ack", chat_id: "c1", client_msg_id: item.client_msg_id, message_id: "m1", seq: 1, duplicate: false });
    expect(client.getSnapshot().outbox).toEqual([]);
    client.stop();
  });

  it("picks up the outbox a previous page left behind", async () => {
    const storage = new MemoryStorage();
    storage.setItem(
      "commonality.outbox.me",
      JSON.stringify([{ client_msg_id: "left-behind", chat_id: "c1", text: "from before the reload", created_at: 1, status: "sending", attempts: 1 }]),
    );
    const { client } = makeClient({ storage });
    const ws = await connect(client);
    expect(ws.framesOfType("send")).toEqual([{ type: "send", chat_id: "c1", text: "from before the reload", client_msg_id: "left-behind" }]);
    client.stop();
  });
});

describe("ChatClient: resume and gaps", () => {
  it("resumes each chat from the last message held, and refreshes the inbox", async () => {
    const api = apiWithTheChat({
      history: vi.fn(async () => ({ messages: [message(3), message(2), message(1)], next_cursor: null })),
    });
    const { client } = makeClient({ api });
    const first = await connect(client);
    await settle();
    await client.openChat("c1");
    first.receive({ type: "message", chat_id: "c1", message: message(4) });
    first.serverClose(1006);
    await vi.advanceTimersByTimeAsync(1000);
    const second = FakeSocket.latest();
    second.open();
    expect(second.sent[0]).toEqual({ type: "resume", chats: { c1: 4 } });
    expect(api.chats).toHaveBeenCalledTimes(3); // on start, on the first open, on this one
    client.stop();
  });

  it("fetches missing messages when one arrives past a hole", async () => {
    const history = vi
      .fn()
      .mockResolvedValueOnce({ messages: [message(2), message(1)], next_cursor: null })
      .mockResolvedValueOnce({ messages: [message(5), message(4), message(3), message(2), message(1)], next_cursor: null });
    const { client } = makeClient({ api: apiWithTheChat({ history }) });
    const ws = await connect(client);
    await client.openChat("c1");
    ws.receive({ type: "message", chat_id: "c1", message: message(5) });
    await settle();
    expect(history).toHaveBeenCalledTimes(2);
    expect(client.state.threads.c1.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    client.stop();
  });

  it("loads the inbox again when a message arrives for an unknown chat", async () => {
    const api = apiWithTheChat();
    const { client } = makeClient({ api });
    const ws = await connect(client);
    await settle();
    expect(api.chats).toHaveBeenCalledTimes(2);
    ws.receive({ type: "message", chat_id: "new", message: message(1) });
    await settle();
    expect(api.chats).toHaveBeenCalledTimes(3);
    client.stop();
  });
});

describe("ChatClient: the inbox and live chat events", () => {
  const created: ChatSummary = { ...chat, chat_id: "c2", other_username: "carla", other_user_id: "carla-id" };

  function deferred<T>() {
    let resolve!: (value: T) => void;
    const promise = new Promise<T>((done) => (resolve = done));
    return { promise, resolve };
  }

  it("loads the inbox again once the socket is open: a chat made before the subscription shows up", async () => {
    const chats = vi.fn().mockResolvedValueOnce([chat]).mockResolvedValue([chat, created]);
    const { client } = makeClient({ api: apiWithTheChat({ chats }) });
    client.start();
    await settle();
    expect(Object.keys(client.state.chats)).toEqual(["c1"]);
    FakeSocket.latest().open();
    await settle();
    expect(Object.keys(client.state.chats).sort()).toEqual(["c1", "c2"]);
    client.stop();
  });

  it("a snapshot read before chat_created does not remove the new chat", async () => {
    const slow = deferred<ChatSummary[]>();
    const chats = vi.fn().mockResolvedValueOnce([chat]).mockResolvedValueOnce([chat]).mockReturnValueOnce(slow.promise);
    const { client } = makeClient({ api: apiWithTheChat({ chats }) });
    const ws = await connect(client);
    await settle();
    const loading = client.loadChats();
    ws.receive({ type: "chat_created", chat: created });
    expect(client.state.chats.c2).toBeDefined();
    slow.resolve([chat]);
    await loading;
    expect(Object.keys(client.state.chats).sort()).toEqual(["c1", "c2"]);
    client.stop();
  });

  it("a snapshot read before leaving does not bring the chat back", async () => {
    const slow = deferred<ChatSummary[]>();
    const chats = vi.fn().mockResolvedValueOnce([chat, created]).mockResolvedValueOnce([chat, created]).mockReturnValueOnce(slow.promise);
    const { client } = makeClient({ api: apiWithTheChat({ chats }) });
    const ws = await connect(client);
    await settle();
    const loading = client.loadChats();
    ws.receive({ type: "member_left", chat_id: "c2", user_id: me.user_id });
    expect(client.state.chats.c2).toBeUndefined();
    slow.resolve([chat, created]);
    await loading;
    expect(Object.keys(client.state.chats)).toEqual(["c1"]);
    client.stop();
  });

  it("an older load that answers last is ignored", async () => {
    const older = deferred<ChatSummary[]>();
    const chats = vi.fn().mockReturnValueOnce(older.promise).mockResolvedValue([chat, created]);
    const { client } = makeClient({ api: apiWithTheChat({ chats }) });
    await connect(client);
    await settle();
    expect(Object.keys(client.state.chats).sort()).toEqual(["c1", "c2"]);
    older.resolve([]);
    await settle();
    expect(Object.keys(client.state.chats).sort()).toEqual(["c1", "c2"]);
    client.stop();
  });
});

describe("ChatClient: history", () => {
  it("loads older pages with the cursor until there are none", async () => {
    const page = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => message(to - i));
    const history = vi
      .fn()
      .mockResolvedValueOnce({ messages: page(51, 100), next_cursor: "c51" })
      .mockResolvedValueOnce({ messages: page(1, 50), next_cursor: null });
    const { client } = makeClient({ api: apiWithTheChat({ history }) });
    await client.openChat("c1");
    expect(client.state.threads.c1.nextCursor).toBe("c51");
    expect(await client.loadOlder("c1")).toBe(false);
    expect(history).toHaveBeenLastCalledWith("c1", { cursor: "c51", limit: 50 });
    const seqs = client.state.threads.c1.messages.map((m) => m.seq);
    expect(seqs).toHaveLength(100);
    expect(seqs[0]).toBe(1);
    expect(seqs[99]).toBe(100);
    expect(await client.loadOlder("c1")).toBe(false);
    expect(history).toHaveBeenCalledTimes(2);
  });
});

describe("ChatClient: typing, reads, session", () => {
  it("throttles typing frames", async () => {
    const { client } = makeClient();
    const ws = await connect(client);
    client.typing("c1");
    client.typing("c1");
    expect(ws.framesOfType("typing")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2600);
    client.typing("c1");
    expect(ws.framesOfType("typing")).toHaveLength(2);
    client.stop();
  });

  it("sends read marks forward only, and after reconnecting if offline", async () => {
    const { client } = makeClient();
    const ws = await connect(client);
    await settle();
    ws.receive({ type: "message", chat_id: "c1", message: message(1) });
    ws.receive({ type: "message", chat_id: "c1", message: message(2) });
    client.markRead("c1", 2);
    client.markRead("c1", 1);
    client.markRead("c1", 2);
    expect(ws.framesOfType("read")).toEqual([{ type: "read", chat_id: "c1", seq: 2 }]);
    expect(client.state.chats.c1.unread_count).toBe(0);

    ws.receive({ type: "message", chat_id: "c1", message: message(3) });
    ws.serverClose(1006);
    client.markRead("c1", 3);
    await vi.advanceTimersByTimeAsync(1000);
    const next = FakeSocket.latest();
    next.open();
    expect(next.framesOfType("read")).toEqual([{ type: "read", chat_id: "c1", seq: 3 }]);
    client.stop();
  });

  it("remembers others' read positions across reloads (for 'Seen')", async () => {
    const storage = new MemoryStorage();
    const first = makeClient({ storage }).client;
    const ws = await connect(first);
    await settle();
    ws.receive({ type: "read", chat_id: "c1", user_id: "them", seq: 7 });
    first.stop();
    const second = makeClient({ storage }).client;
    await connect(second);
    await settle();
    await second.openChat("c1");
    expect(second.state.threads.c1.reads).toEqual({ them: 7 });
    second.stop();
  });

  it("ends the session when the ticket is refused with 401", async () => {
    const api = apiWithTheChat({
      wsTicket: vi.fn(async () => {
        throw new ApiError(401, "Invalid token");
      }),
    });
    const { client, onSessionExpired } = makeClient({ api });
    client.start();
    await settle();
    expect(onSessionExpired).toHaveBeenCalledWith("Invalid token");
  });

  it("on close 1008 checks the session: expired → log out", async () => {
    const api = apiWithTheChat({
      me: vi.fn(async () => {
        throw new ApiError(401, "Invalid token");
      }),
    });
    const { client, onSessionExpired } = makeClient({ api });
    const ws = await connect(client);
    ws.serverClose(1008);
    await settle();
    await settle();
    expect(onSessionExpired).toHaveBeenCalledWith("Invalid token");
    expect(client.getSnapshot().connection.status).toBe("stopped");
  });

  it("shows socket errors that belong to no message as a notice", async () => {
    const { client } = makeClient();
    const ws = await connect(client);
    await settle();
    ws.receive({ error: "Not a member of this chat", chat_id: "c1" });
    expect(client.getSnapshot().notice?.text).toBe("bruno: Not a member of this chat");
    client.stop();
  });
});

describe("ChatClient: log out everywhere", () => {
  it("stops the socket before asking, so the server's 1008 close is not taken for an expired session", async () => {
    const storage = new MemoryStorage();
    let ws: FakeSocket | null = null;
    const api = apiWithTheChat({
      // Revoked by now: had the close been handled, the session check would end the session.
      me: vi.fn(async () => {
        throw new ApiError(401, "Invalid token");
      }),
      logoutAll: vi.fn(async () => {
        expect(client.getSnapshot().connection.status).toBe("stopped");
        ws?.serverClose(1008);
        return { logged_out: true };
      }),
    });
    const { client, onSessionExpired } = makeClient({ api, storage });
    ws = await connect(client);
    await settle();
    client.send("c1", "never sent");
    storage.setItem("commonality.reads.me", JSON.stringify({ c1: 3 }));

    await client.logoutEverywhere();
    await settle();
    await settle();

    expect(api.logoutAll).toHaveBeenCalledTimes(1);
    expect(ws.closedWith).toBe(1000);
    expect(api.me).not.toHaveBeenCalled();
    expect(onSessionExpired).not.toHaveBeenCalled();
    expect(client.getSnapshot().connection.status).toBe("stopped");
    expect(client.getSnapshot().outbox).toHaveLength(0);
    expect(storage.getItem("commonality.outbox.me")).toBeNull();
    expect(storage.getItem("commonality.reads.me")).toBeNull();
    vi.advanceTimersByTime(60_000);
    await settle();
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("when the call fails, starts again, keeps unsent messages and throws the server's words", async () => {
    const storage = new MemoryStorage();
    const api = apiWithTheChat({
      logoutAll: vi.fn(async () => {
        throw new ApiError(503, "Try again in a moment.");
      }),
    });
    const { client, onSessionExpired } = makeClient({ api, storage });
    await connect(client);
    await settle();
    client.send("c1", "still queued");

    await expect(client.logoutEverywhere()).rejects.toMatchObject({ status: 503, detail: "Try again in a moment." });
    await settle();

    expect(onSessionExpired).not.toHaveBeenCalled();
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.latest().open();
    expect(client.getSnapshot().connection.status).toBe("connected");
    expect(client.getSnapshot().outbox.map((item) => item.text)).toEqual(["still queued"]);
    expect(storage.getItem("commonality.outbox.me")).toContain("still queued");
    client.stop();
  });

  it("stays stopped when the session was already over (401)", async () => {
    const api = apiWithTheChat({
      logoutAll: vi.fn(async () => {
        throw new ApiError(401, "Invalid token");
      }),
    });
    const { client } = makeClient({ api });
    await connect(client);
    await settle();

    await expect(client.logoutEverywhere()).rejects.toMatchObject({ status: 401 });
    vi.advanceTimersByTime(60_000);
    await settle();

    expect(FakeSocket.all).toHaveLength(1);
    expect(client.getSnapshot().connection.status).toBe("stopped");
  });
});

describe("ChatClient: mute", () => {
  it("mutes through the server and follows chat_muted from the person's other devices", async () => {
    const setMuted = vi.fn(async (chatId: string, muted: boolean) => ({ chat_id: chatId, muted }));
    const { client } = makeClient({ api: apiWithTheChat({ setMuted }) });
    const ws = await connect(client);
    expect(client.getSnapshot().chat.chats.c1.muted).toBe(false);

    await client.setMuted("c1", true);
    expect(setMuted).toHaveBeenCalledWith("c1", true);
    expect(client.getSnapshot().chat.chats.c1.muted).toBe(true);

    ws.receive({ type: "chat_muted", chat_id: "c1", muted: false });
    expect(client.getSnapshot().chat.chats.c1.muted).toBe(false);
    client.stop();
  });

  it("leaves the chat as it was when the server refuses", async () => {
    const setMuted = vi.fn(async () => {
      throw new ApiError(429, "too many mute changes");
    });
    const { client } = makeClient({ api: apiWithTheChat({ setMuted }) });
    await connect(client);
    await expect(client.setMuted("c1", true)).rejects.toMatchObject({ status: 429 });
    expect(client.getSnapshot().chat.chats.c1.muted).toBe(false);
    client.stop();
  });
});

describe("ChatClient: glossary", () => {
  it("loads the glossary, saves an edit from its version, and follows glossary_updated", async () => {
    const stored = { chat_id: "c1", version: 1, entries: [{ term: "abuela", rendering: "grandma" }] };
    const updateGlossary = vi.fn(async () => stored);
    const { client } = makeClient({
      api: apiWithTheChat({ glossary: vi.fn(async () => ({ chat_id: "c1", version: 0, entries: [] })), updateGlossary }),
    });
    const ws = await connect(client);
    await client.loadGlossary("c1");
    expect(client.getSnapshot().chat.glossaries.c1.version).toBe(0);

    await client.saveGlossary("c1", 0, stored.entries);
    expect(updateGlossary).toHaveBeenCalledWith("c1", 0, stored.entries);
    expect(client.getSnapshot().chat.glossaries.c1).toEqual(stored);

    ws.receive({ type: "glossary_updated", chat_id: "c1", user_id: "them", glossary: { ...stored, version: 2, entries: [] } });
    expect(client.getSnapshot().chat.glossaries.c1.version).toBe(2);
    client.stop();
  });

  it("a stale edit (409) loads the glossary now stored and still fails", async () => {
    const latest = { chat_id: "c1", version: 4, entries: [{ term: "Nico", rendering: null }] };
    const { client } = makeClient({
      api: apiWithTheChat({
        glossary: vi.fn(async () => latest),
        updateGlossary: vi.fn(async () => {
          throw new ApiError(409, "The glossary was changed meanwhile; reload it and edit again");
        }),
      }),
    });
    await expect(client.saveGlossary("c1", 3, [])).rejects.toMatchObject({ status: 409 });
    expect(client.getSnapshot().chat.glossaries.c1).toEqual(latest);
    client.stop();
  });
});
