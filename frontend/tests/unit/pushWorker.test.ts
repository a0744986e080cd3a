/**
 * public/push-sw.js, run in a fake service-worker scope: what a push shows, and where a click
 * on it leads.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

const SOURCE = readFileSync(join(import.meta.dirname, "../../public/push-sw.js"), "utf8");

type Listener = (event: unknown) => void;

function workerScope({ muted = [] as string[], windows = [] as unknown[] } = {}) {
  const listeners = new Map<string, Listener>();
  const showNotification = vi.fn(async () => undefined);
  const openWindow = vi.fn(async () => null);
  const scope = {
    addEventListener: (type: string, listener: Listener) => listeners.set(type, listener),
    registration: { showNotification },
    clients: { matchAll: vi.fn(async () => windows), openWindow },
  };
  const caches = {
    open: async () => ({ match: async () => new Response(JSON.stringify(muted)) }),
  };
  new Function("self", "caches", SOURCE)(scope, caches);
  const dispatch = async (type: string, event: Record<string, unknown>) => {
    const waits: Promise<unknown>[] = [];
    listeners.get(type)!({ ...event, waitUntil: (promise: Promise<unknown>) => waits.push(promise) });
    await Promise.all(waits);
  };
  return { dispatch, showNotification, openWindow };
}

const PAYLOAD = {
  type: "message",
  chat_id: "c1",
  seq: 4,
  message_id: "m4",
  title: "Ana",
  body: "Are you coming tonight?",
  language: "en",
  url: "/chats/c1",
  tag: "chat:c1",
};

const push = (payload: unknown) => ({ data: { json: () => payload } });

describe("the push service worker", () => {
  it("shows a message push as a notification in the reader's language", async () => {
    const worker = workerScope();
    await worker.dispatch("push", push(PAYLOAD));
    expect(worker.showNotification).toHaveBeenCalledWith("Ana", {
      body: "Are you coming tonight?",
      tag: "chat:c1",
      lang: "en",
      icon: "/icon.svg",
      data: { url: "/chats/c1" },
    });
  });

  it("shows a ringing call until it is answered or dismissed", async () => {
    const worker = workerScope();
    await worker.dispatch("push", push({ type: "call", chat_id: "c1", call_id: "k1", title: "Ana", body: "Incoming call", url: "/chats/c1", tag: "call:k1" }));
    expect(worker.showNotification).toHaveBeenCalledWith("Ana", {
      body: "Incoming call",
      tag: "call:k1",
      icon: "/icon.svg",
      data: { url: "/chats/c1" },
      requireInteraction: true,
    });
  });

  it("keeps a chat muted on this device silent, and ignores what is not a message push", async () => {
    const worker = workerScope({ muted: ["c1"] });
    await worker.dispatch("push", push(PAYLOAD));
    await worker.dispatch("push", push({ type: "other" }));
    await worker.dispatch("push", { data: { json: () => JSON.parse("{") } });
    expect(worker.showNotification).not.toHaveBeenCalled();
  });

  it("rings a muted chat's call all the same", async () => {
    const worker = workerScope({ muted: ["c1"] });
    await worker.dispatch("push", push({ type: "call", chat_id: "c1", call_id: "k1", title: "Ana", body: "Incoming call", url: "/chats/c1", tag: "call:k1" }));
    expect(worker.showNotification).toHaveBeenCalledTimes(1);
  });

  it("never takes a link off the site from a payload", async () => {
    const worker = workerScope();
    for (const url of ["https://evil.example/", "//evil.example/x", "/\\evil.example/x", 5]) {
      await worker.dispatch("push", push({ ...PAYLOAD, url }));
    }
    expect(worker.showNotification.mock.calls.map((call) => (call as unknown[])[1])).toEqual(
      Array(4).fill(expect.objectContaining({ data: { url: "/chats" } })),
    );
  });

  it("a click opens the chat: in a window of the app if one is open, else a new one", async () => {
    const close = vi.fn();
    const fresh = workerScope();
    await fresh.dispatch("notificationclick", { notification: { close, data: { url: "/chats/c1" } } });
    expect(close).toHaveBeenCalled();
    expect(fresh.openWindow).toHaveBeenCalledWith("/chats/c1");

    const open = { focus: vi.fn(async () => undefined), navigate: vi.fn(async () => undefined) };
    const withWindow = workerScope({ windows: [open] });
    await withWindow.dispatch("notificationclick", { notification: { close, data: { url: "/chats/c1" } } });
    expect(open.focus).toHaveBeenCalled();
    expect(open.navigate).toHaveBeenCalledWith("/chats/c1");
    expect(withWindow.openWindow).not.toHaveBeenCalled();
  });
});
