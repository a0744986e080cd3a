import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Backoff } from "@/lib/backoff";
import { ChatSocket, TicketError, type ChatSocketOptions, type ConnectionInfo } from "@/lib/socket";
import { FakeSocket, settle } from "./fakes";

function setup(overrides: Partial<ChatSocketOptions> = {}) {
  const statuses: ConnectionInfo[] = [];
  const frames: Array<Record<string, unknown>> = [];
  let tickets = 0;
  let online = true;
  const options: ChatSocketOptions = {
    url: "ws://api.test/api/ws/chat",
    getTicket: vi.fn(async () => `ticket-${++tickets}`),
    onFrame: (frame) => frames.push(frame),
    onOpen: vi.fn(),
    onStatus: (info) => statuses.push(info),
    createSocket: (url) => new FakeSocket(url),
    backoff: new Backoff({ baseMs: 1000, maxMs: 16_000, random: () => 1 }),
    heartbeatIntervalMs: 20_000,
    heartbeatTimeoutMs: 5_000,
    isOnline: () => online,
    ...overrides,
  };
  const socket = new ChatSocket(options);
  return {
    socket,
    options,
    statuses,
    frames,
    setOnline: (value: boolean) => {
      online = value;
    },
    last: () => statuses[statuses.length - 1]?.status,
  };
}

beforeEach(() => {
  FakeSocket.reset();
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("ChatSocket", () => {
  it("connects with a one-time ticket, never the access token", async () => {
    const { socket, options, last } = setup();
    socket.start();
    expect(last()).toBe("connecting");
    await settle();
    const ws = FakeSocket.latest();
    expect(ws.url).toBe("ws://api.test/api/ws/chat?ticket=ticket-1");
    expect(ws.url).not.toContain("token=");
    ws.open();
    expect(last()).toBe("connected");
    expect(options.onOpen).toHaveBeenCalledTimes(1);
    expect(socket.isOpen).toBe(true);
  });

  it("delivers JSON object frames and ignores garbage", async () => {
    const { socket, frames } = setup();
    socket.start();
    await settle();
    FakeSocket.latest().open();
    FakeSocket.latest().receive({ type: "pong" });
    FakeSocket.latest().receive("not json");
    FakeSocket.latest().receive("[1,2]");
    expect(frames).toEqual([{ type: "pong" }]);
  });

  it("reconnects with exponential backoff and a fresh ticket each time", async () => {
    const { socket, options, statuses, last } = setup();
    socket.start();
    await settle();
    FakeSocket.latest().open();
    FakeSocket.latest().serverClose(1006);
    expect(last()).toBe("reconnecting");
    expect(statuses[statuses.length - 1].nextRetryAt).not.toBeNull();

    // first retry after 1s (random=1 -> the full ceiling)
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(2);
    expect(FakeSocket.latest().url).toContain("ticket=ticket-2");

    // that one fails too: next wait is 2s
    FakeSocket.latest().serverClose(1006);
    await vi.advanceTimersByTimeAsync(1999);
    expect(FakeSocket.all).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(3);

    // success resets the backoff
    FakeSocket.latest().open();
    expect(last()).toBe("connected");
    FakeSocket.latest().serverClose(1001);
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.all).toHaveLength(4);
    expect(options.getTicket).toHaveBeenCalledTimes(4);
  });

  it("reconnects after close 4008 (too far behind) so the owner resumes on open", async () => {
    const { socket, options, last } = setup();
    socket.start();
    await settle();
    FakeSocket.latest().open();
    expect(options.onOpen).toHaveBeenCalledTimes(1);

    FakeSocket.latest().serverClose(4008);
    expect(last()).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.latest().open();
    expect(last()).toBe("connected");
    // onOpen is where the chat client sends `resume` from the last seq it holds.
    expect(options.onOpen).toHaveBeenCalledTimes(2);
  });

  it("keeps retrying when the ticket cannot be fetched (server down)", async () => {
    let calls = 0;
    const { socket, last } = setup({
      getTicket: async () => {
        calls += 1;
        if (calls < 3) throw new TicketError("down", "network");
        return "ok";
      },
    });
    socket.start();
    await settle();
    expect(last()).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(1000);
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toBe(3);
    expect(FakeSocket.latest().url).toContain("ticket=ok");
  });

  it("stops and reports when the ticket is refused (session over)", async () => {
    const onAuthFailure = vi.fn();
    const { socket, last } = setup({
      getTicket: async () => {
        throw new TicketError("Invalid token", "auth");
      },
      onAuthFailure,
    });
    socket.start();
    await settle();
    expect(onAuthFailure).toHaveBeenCalledWith("Invalid token");
    expect(last()).toBe("stopped");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(0);
  });

  it("asks on close 1008 whether the session is over: stop if so", async () => {
    const onPolicyClose = vi.fn(async () => true);
    const { socket, last } = setup({ onPolicyClose });
    socket.start();
    await settle();
    FakeSocket.latest().serverClose(1008);
    await settle();
    expect(onPolicyClose).toHaveBeenCalled();
    expect(last()).toBe("stopped");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("reconnects after 1008 when the session is still good (stale ticket)", async () => {
    const { socket } = setup({ onPolicyClose: async () => false });
    socket.start();
    await settle();
    FakeSocket.latest().serverClose(1008);
    await settle();
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("closes a silent connection when pings go unanswered, then reconnects", async () => {
    const { socket, last } = setup();
    socket.start();
    await settle();
    const ws = FakeSocket.latest();
    ws.open();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(ws.framesOfType("ping")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(ws.closedWith).toBe(4000);
    expect(last()).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("a pong keeps the connection", async () => {
    const { socket, last } = setup();
    socket.start();
    await settle();
    const ws = FakeSocket.latest();
    ws.open();
    await vi.advanceTimersByTimeAsync(20_000);
    ws.receive({ type: "pong" });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ws.closedWith).toBeNull();
    expect(last()).toBe("connected");
  });

  it("waits while the browser is offline and connects at once when it comes back", async () => {
    const env = setup();
    env.socket.start();
    await settle();
    FakeSocket.latest().open();
    env.setOnline(false);
    env.socket.setOnline(false);
    expect(env.last()).toBe("offline");
    expect(FakeSocket.latest().closedWith).toBe(1000);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(env.socket.send({ type: "ping" })).toBe(false);

    env.setOnline(true);
    env.socket.setOnline(true);
    await settle();
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.latest().open();
    expect(env.last()).toBe("connected");
  });

  it("starts offline without trying to connect", async () => {
    const env = setup();
    env.setOnline(false);
    env.socket.start();
    await settle();
    expect(env.last()).toBe("offline");
    expect(FakeSocket.all).toHaveLength(0);
  });

  it("reconnectNow skips the backoff wait", async () => {
    const { socket } = setup();
    socket.start();
    await settle();
    FakeSocket.latest().serverClose(1006);
    socket.reconnectNow();
    await settle();
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("ignores events from a replaced socket", async () => {
    const { socket, frames, last } = setup();
    socket.start();
    await settle();
    const first = FakeSocket.latest();
    first.open();
    first.serverClose(1006);
    await vi.advanceTimersByTimeAsync(1000);
    const second = FakeSocket.latest();
    expect(second).not.toBe(first);
    first.receive({ type: "message" });
    expect(frames).toHaveLength(0);
    second.open();
    expect(last()).toBe("connected");
  });

  it("stop closes the socket and never reconnects", async () => {
    const { socket, last } = setup();
    socket.start();
    await settle();
    FakeSocket.latest().open();
    socket.stop();
    expect(FakeSocket.latest().closedWith).toBe(1000);
    expect(last()).toBe("stopped");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });
});
