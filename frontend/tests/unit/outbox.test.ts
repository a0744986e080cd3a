import { describe, expect, it } from "vitest";
import { BUSY_MAX_WAIT_MS, MAX_AUTOMATIC_ATTEMPTS, MAX_BUSY_RETRIES, Outbox } from "@/lib/outbox";
import { MemoryStorage } from "./fakes";

const KEY = "commonality.outbox.me";

function clock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("Outbox", () => {
  it("gives each message a UUID client_msg_id and persists it", () => {
    const storage = new MemoryStorage();
    const outbox = new Outbox(storage, KEY);
    const item = outbox.add("c1", "hello");
    expect(item.client_msg_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(item.status).toBe("queued");
    const stored = JSON.parse(storage.getItem(KEY) as string);
    expect(stored).toHaveLength(1);
    expect(stored[0].text).toBe("hello");
  });

  it("survives a reload; what was in flight goes out again with the same id", () => {
    const storage = new MemoryStorage();
    const first = new Outbox(storage, KEY);
    const a = first.add("c1", "one");
    first.add("c1", "two");
    first.markSending(a.client_msg_id);
    const reloaded = new Outbox(storage, KEY);
    expect(reloaded.items().map((i) => [i.text, i.status])).toEqual([
      ["one", "queued"],
      ["two", "queued"],
    ]);
    expect(reloaded.ready()[0].client_msg_id).toBe(a.client_msg_id);
  });

  it("sends one at a time per chat, in order, chats in parallel", () => {
    const outbox = new Outbox(null, KEY);
    const a1 = outbox.add("a", "a1");
    outbox.add("a", "a2");
    const b1 = outbox.add("b", "b1");
    expect(outbox.ready().map((i) => i.text)).toEqual(["a1", "b1"]);
    outbox.markSending(a1.client_msg_id);
    outbox.markSending(b1.client_msg_id);
    expect(outbox.ready()).toEqual([]);
    outbox.settle(a1.client_msg_id);
    expect(outbox.ready().map((i) => i.text)).toEqual(["a2"]);
  });

  it("settling removes the item once; settling again is harmless (dedupe)", () => {
    const storage = new MemoryStorage();
    const outbox = new Outbox(storage, KEY);
    const item = outbox.add("c1", "hi");
    expect(outbox.settle(item.client_msg_id)?.text).toBe("hi");
    expect(outbox.settle(item.client_msg_id)).toBeUndefined();
    expect(outbox.items()).toHaveLength(0);
    expect(storage.getItem(KEY)).toBeNull();
  });

  it("marks permanent refusals failed, without blocking the rest of the chat", () => {
    const outbox = new Outbox(null, KEY);
    const bad = outbox.add("c1", "x");
    outbox.add("c1", "after");
    outbox.markSending(bad.client_msg_id);
    outbox.fail(bad.client_msg_id, "Not a member of this chat");
    expect(outbox.get(bad.client_msg_id)).toMatchObject({ status: "failed", error: "Not a member of this chat" });
    expect(outbox.ready().map((i) => i.text)).toEqual(["after"]);
    outbox.retry(bad.client_msg_id);
    expect(outbox.get(bad.client_msg_id)?.status).toBe("queued");
    expect(outbox.ready().map((i) => i.text)).toEqual(["x"]);
  });

  it("retries transient refusals by itself after a growing wait, then gives up", () => {
    const time = clock();
    const outbox = new Outbox(null, KEY, time.now);
    const item = outbox.add("c1", "x");
    outbox.markSending(item.client_msg_id);
    outbox.fail(item.client_msg_id, "too many messages: at most 30 every 10 seconds; try again shortly");
    expect(outbox.get(item.client_msg_id)?.status).toBe("queued");
    expect(outbox.ready()).toEqual([]);
    expect(outbox.nextWakeUp()).toBe(time.now() + 1500);
    time.advance(1500);
    expect(outbox.ready()).toHaveLength(1);
    for (let i = 1; i < MAX_AUTOMATIC_ATTEMPTS; i++) {
      outbox.markSending(item.client_msg_id);
      outbox.fail(item.client_msg_id, "message could not be sent; try again");
      time.advance(60_000);
    }
    expect(outbox.get(item.client_msg_id)?.status).toBe("failed");
  });

  it("resends a busy refusal after retry_after, backing off with jitter, without using up the attempts", () => {
    const time = clock();
    let random = 0;
    const outbox = new Outbox(null, KEY, time.now, () => random);
    const item = outbox.add("c1", "x");
    const busy = { code: "busy", retry_after: 1 };
    const waits: number[] = [];
    for (let refusal = 1; refusal <= 7; refusal++) {
      outbox.markSending(item.client_msg_id);
      outbox.fail(item.client_msg_id, "The server is busy; try again in a moment", busy);
      const waiting = outbox.get(item.client_msg_id);
      expect(waiting).toMatchObject({ status: "queued", busy: refusal, client_msg_id: item.client_msg_id });
      expect(outbox.ready()).toEqual([]);
      waits.push((waiting?.not_before as number) - time.now());
      time.advance(waits[waits.length - 1]);
      expect(outbox.ready().map((i) => i.client_msg_id)).toEqual([item.client_msg_id]);
    }
    // retry_after first, then doubling, capped.
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, BUSY_MAX_WAIT_MS, BUSY_MAX_WAIT_MS]);
    // Seven refusals and still queued: busy refusals are not failed attempts...
    expect(outbox.get(item.client_msg_id)?.attempts).toBe(7);
    // ...and a later ordinary transient error still gets its own automatic retry.
    outbox.markSending(item.client_msg_id);
    outbox.fail(item.client_msg_id, "message could not be sent; try again");
    expect(outbox.get(item.client_msg_id)?.status).toBe("queued");
    // Jitter stretches a wait by up to half again, never shortens it below retry_after.
    random = 0.999;
    const other = outbox.add("c2", "y");
    outbox.markSending(other.client_msg_id);
    outbox.fail(other.client_msg_id, "The server is busy; try again in a moment", { code: "busy", retry_after: 2 });
    const wait = (outbox.get(other.client_msg_id)?.not_before as number) - time.now();
    expect(wait).toBeGreaterThan(2000);
    expect(wait).toBeLessThanOrEqual(3000);
  });

  it("gives up on a message refused busy too many times, for the user to retry", () => {
    const time = clock();
    const outbox = new Outbox(null, KEY, time.now, () => 0);
    const item = outbox.add("c1", "x");
    for (let refusal = 1; refusal <= MAX_BUSY_RETRIES + 1; refusal++) {
      outbox.markSending(item.client_msg_id);
      outbox.fail(item.client_msg_id, "The server is busy; try again in a moment", { code: "busy", retry_after: 1 });
      time.advance(BUSY_MAX_WAIT_MS);
    }
    expect(outbox.get(item.client_msg_id)?.status).toBe("failed");
    outbox.retry(item.client_msg_id);
    expect(outbox.get(item.client_msg_id)).toMatchObject({ status: "queued", busy: 0, attempts: 0 });
  });

  it("waits at least retry_after before resending a rate-limited message", () => {
    const time = clock();
    const outbox = new Outbox(null, KEY, time.now);
    const item = outbox.add("c1", "x");
    outbox.markSending(item.client_msg_id);
    outbox.fail(item.client_msg_id, "too many messages: at most 30 every 10 seconds; try again in 7 seconds", { retry_after: 7 });
    expect(outbox.nextWakeUp()).toBe(time.now() + 7000);
  });

  it("requeues everything in flight when the connection drops", () => {
    const outbox = new Outbox(null, KEY);
    const a = outbox.add("c1", "a");
    outbox.markSending(a.client_msg_id);
    outbox.requeueInFlight();
    expect(outbox.get(a.client_msg_id)).toMatchObject({ status: "queued", attempts: 1 });
  });

  it("picks up items another tab queued and never resurrects settled ones", () => {
    const storage = new MemoryStorage();
    const tabA = new Outbox(storage, KEY, () => 1);
    const tabB = new Outbox(storage, KEY, () => 2);
    const a = tabA.add("c1", "from A");
    const b = tabB.add("c1", "from B");
    // B's save kept A's item
    expect(JSON.parse(storage.getItem(KEY) as string).map((i: { text: string }) => i.text)).toEqual(["from A", "from B"]);
    tabA.absorb();
    expect(tabA.items().map((i) => i.text)).toEqual(["from A", "from B"]);
    tabA.settle(a.client_msg_id);
    tabA.settle(b.client_msg_id);
    tabA.absorb();
    expect(tabA.items()).toHaveLength(0);
  });

  it("drops a chat's items when the user leaves it", () => {
    const outbox = new Outbox(null, KEY);
    outbox.add("gone", "x");
    outbox.add("kept", "y");
    outbox.dropChat("gone");
    expect(outbox.items().map((i) => i.chat_id)).toEqual(["kept"]);
  });

  it("ignores corrupt storage", () => {
    const storage = new MemoryStorage();
    storage.setItem(KEY, "{not json");
    expect(new Outbox(storage, KEY).items()).toEqual([]);
    storage.setItem(KEY, JSON.stringify([{ nope: 1 }, { client_msg_id: "x", chat_id: "c", text: "t", status: "queued", attempts: 0, created_at: 1 }]));
    expect(new Outbox(storage, KEY).items().map((i) => i.client_msg_id)).toEqual(["x"]);
  });
});
