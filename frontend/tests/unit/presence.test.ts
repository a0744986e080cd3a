import { describe, expect, it } from "vitest";
import { PresenceClient, presenceRefreshMs, presenceText } from "@/lib/presence";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const ago = (ms: number) => new Date(NOW - ms).toISOString();
const MINUTE = 60_000;

describe("presenceText", () => {
  it("says online, or how long ago the member was last seen", () => {
    expect(presenceText({ online: true, lastSeen: null }, NOW)).toBe("online");
    expect(presenceText({ online: false, lastSeen: ago(20_000) }, NOW)).toBe("last seen just now");
    expect(presenceText({ online: false, lastSeen: ago(MINUTE) }, NOW)).toBe("last seen 1 minute ago");
    expect(presenceText({ online: false, lastSeen: ago(5 * MINUTE + 10_000) }, NOW)).toBe("last seen 5 minutes ago");
    expect(presenceText({ online: false, lastSeen: ago(3 * 60 * MINUTE) }, NOW)).toBe("last seen 3 hours ago");
    expect(presenceText({ online: false, lastSeen: ago(30 * 60 * MINUTE) }, NOW)).toBe("last seen yesterday");
    expect(presenceText({ online: false, lastSeen: ago(4 * 24 * 60 * MINUTE) }, NOW)).toBe("last seen 4 days ago");
    expect(presenceText({ online: false, lastSeen: ago(20 * 24 * 60 * MINUTE) }, NOW)).toMatch(/^last seen on /);
  });

  it("says nothing when unknown or hidden, and a clock a little behind is 'just now'", () => {
    expect(presenceText(undefined, NOW)).toBeNull();
    expect(presenceText({ online: false, lastSeen: null }, NOW)).toBeNull();
    expect(presenceText({ online: false, lastSeen: "not a date" }, NOW)).toBeNull();
    expect(presenceText({ online: false, lastSeen: new Date(NOW + 5000).toISOString() }, NOW)).toBe("last seen just now");
  });

  it("refreshes when the text next changes: at the next minute within the hour", () => {
    expect(presenceRefreshMs({ online: false, lastSeen: ago(5 * MINUTE + 10_000) }, NOW)).toBe(50_000);
    expect(presenceRefreshMs({ online: true, lastSeen: null }, NOW)).toBeNull();
    expect(presenceRefreshMs({ online: false, lastSeen: ago(2 * 60 * MINUTE + MINUTE) }, NOW)).toBe(59 * MINUTE);
  });
});

describe("PresenceClient", () => {
  function client() {
    const sent: unknown[] = [];
    const presence = new PresenceClient((frame) => {
      sent.push(frame);
      return true;
    });
    return { presence, sent };
  }

  it("watches the open chat, again after a reconnect, and stops when it closes", () => {
    const { presence, sent } = client();
    presence.watch("c1");
    presence.watch("c1");
    expect(sent).toEqual([{ type: "presence_watch", chat_id: "c1" }]);
    presence.handleOpen();
    expect(sent.at(-1)).toEqual({ type: "presence_watch", chat_id: "c1" });
    // Opening another chat replaces the watch; the first one's late cleanup changes nothing.
    presence.watch("c2");
    presence.unwatch("c1");
    expect(presence.watchedChat).toBe("c2");
    presence.unwatch("c2");
    expect(sent.at(-1)).toEqual({ type: "presence_unwatch" });
    sent.length = 0;
    presence.handleOpen();
    expect(sent).toEqual([]);
  });

  it("keeps each member's latest frame, forgets them on a new watch or a lost connection", () => {
    const { presence } = client();
    let changes = 0;
    presence.subscribe(() => changes++);
    presence.watch("c1");
    presence.handleFrame({ type: "presence", user_id: "bob", online: true, last_seen: null });
    expect(presence.get("bob")).toEqual({ online: true, lastSeen: null });
    presence.handleFrame({ type: "presence", user_id: "bob", online: false, last_seen: "2026-03-10T11:00:00+00:00" });
    expect(presence.get("bob")).toEqual({ online: false, lastSeen: "2026-03-10T11:00:00+00:00" });
    presence.connectionLost();
    expect(presence.get("bob")).toBeUndefined();
    expect(changes).toBe(4);
    // A frame for a watch that ended is ignored.
    presence.unwatch("c1");
    presence.handleFrame({ type: "presence", user_id: "bob", online: true, last_seen: null });
    expect(presence.get("bob")).toBeUndefined();
  });
});
