import { describe, expect, it, vi } from "vitest";
import { isMuted, mutedChats, mutedChatsReplace, mutedKey, mutedOnServer, mutesToUpload, onMutedChange, setMuted } from "@/lib/mutedChats";
import { MemoryStorage } from "./fakes";

describe("muted chats on this device", () => {
  it("mutes and unmutes one chat, per user", () => {
    const storage = new MemoryStorage();
    expect(isMuted(storage, "u1", "c1")).toBe(false);
    expect(setMuted(storage, "u1", "c1", true)).toBe(true);
    expect(setMuted(storage, "u1", "c2", true)).toBe(true);
    expect(isMuted(storage, "u1", "c1")).toBe(true);
    expect(isMuted(storage, "u2", "c1")).toBe(false);
    setMuted(storage, "u1", "c1", false);
    expect([...mutedChats(storage, "u1")]).toEqual(["c2"]);
    setMuted(storage, "u1", "c2", false);
    expect(storage.getItem(mutedKey("u1"))).toBeNull();
  });

  it("reads unreadable storage as nothing muted", () => {
    const storage = new MemoryStorage();
    storage.setItem(mutedKey("u1"), "{not json");
    expect(isMuted(storage, "u1", "c1")).toBe(false);
    storage.setItem(mutedKey("u1"), JSON.stringify({ c1: true }));
    expect(isMuted(storage, "u1", "c1")).toBe(false);
    storage.setItem(mutedKey("u1"), JSON.stringify(["c1", 3]));
    expect([...mutedChats(storage, "u1")]).toEqual(["c1"]);
  });

  it("says so when the browser refuses to store it, or has no storage", () => {
    const storage = new MemoryStorage();
    storage.setItem = () => {
      throw new Error("QuotaExceededError");
    };
    expect(setMuted(storage, "u1", "c1", true)).toBe(false);
    expect(setMuted(null, "u1", "c1", true)).toBe(false);
    expect(isMuted(null, "u1", "c1")).toBe(false);
  });

  it("tells this tab's listeners", () => {
    const listener = vi.fn();
    const off = onMutedChange(listener);
    setMuted(new MemoryStorage(), "u1", "c1", true);
    expect(listener).toHaveBeenCalledTimes(1);
    off();
    setMuted(new MemoryStorage(), "u1", "c1", true);
    expect(listener).toHaveBeenCalledTimes(1);
  });
});

describe("muted chats as the server keeps them", () => {
  it("takes the chats the summaries say are muted", () => {
    expect(mutedOnServer([{ chat_id: "b", muted: true }, { chat_id: "c", muted: false }, { chat_id: "a", muted: true }, { chat_id: "d" }])).toEqual(["a", "b"]);
  });

  it("replaces this device's copy with the server's, telling listeners only of a change", () => {
    const storage = new MemoryStorage();
    setMuted(storage, "u1", "local-only", true);
    const listener = vi.fn();
    const off = onMutedChange(listener);
    expect(mutedChatsReplace(storage, "u1", ["c2", "c1"])).toBe(true);
    expect([...mutedChats(storage, "u1")]).toEqual(["c1", "c2"]);
    expect(listener).toHaveBeenCalledTimes(1);
    mutedChatsReplace(storage, "u1", ["c1", "c2"]);
    expect(listener).toHaveBeenCalledTimes(1);
    mutedChatsReplace(storage, "u1", []);
    expect(storage.getItem(mutedKey("u1"))).toBeNull();
    expect(listener).toHaveBeenCalledTimes(2);
    off();
    expect(mutedChatsReplace(null, "u1", ["c1"])).toBe(false);
  });

  it("uploads the chats muted on this device only once, and only those the server lacks", () => {
    const storage = new MemoryStorage();
    setMuted(storage, "u1", "c1", true);
    setMuted(storage, "u1", "c2", true);
    setMuted(storage, "u1", "gone", true);
    expect(mutesToUpload(storage, "u1", ["c2"], ["c1", "c2", "c3"])).toEqual(["c1"]);
    // Later an unmute on another device is not undone by this device's old list.
    expect(mutesToUpload(storage, "u1", [], ["c1", "c2", "c3"])).toEqual([]);
    expect(mutesToUpload(null, "u1", [], ["c1"])).toEqual([]);
  });
});
