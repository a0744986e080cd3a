import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Backoff } from "@/lib/backoff";
import { ChatClient } from "@/lib/client";
import { FakeSocket, MemoryStorage, connect, fakeApi, me, settle } from "./fakes";

function makeClient() {
  return new ChatClient({
    api: fakeApi(),
    me,
    wsUrl: "ws://api.test",
    storage: new MemoryStorage(),
    onSessionExpired: vi.fn(),
    createSocket: (url) => new FakeSocket(url),
    backoff: new Backoff({ baseMs: 1000, random: () => 1 }),
  });
}

beforeEach(() => {
  FakeSocket.reset();
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("ChatClient: presence", () => {
  it("sends the open chat's watch on every socket, and hands presence frames to client.presence", async () => {
    const client = makeClient();
    client.presence.watch("c1");
    const first = await connect(client);
    expect(first.framesOfType("presence_watch")).toEqual([{ type: "presence_watch", chat_id: "c1" }]);
    first.receive({ type: "presence", user_id: "bob", online: true, last_seen: null });
    expect(client.presence.get("bob")).toEqual({ online: true, lastSeen: null });

    // The socket drops: what was known is forgotten, and the new socket watches again.
    first.serverClose(1006);
    expect(client.presence.get("bob")).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1500);
    await settle();
    const second = FakeSocket.latest();
    expect(second).not.toBe(first);
    second.open();
    expect(second.framesOfType("presence_watch")).toEqual([{ type: "presence_watch", chat_id: "c1" }]);
    client.stop();
  });
});
