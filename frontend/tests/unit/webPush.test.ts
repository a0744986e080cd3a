import { describe, expect, it, vi } from "vitest";
import {
  keyBytes,
  MUTED_CHATS_URL,
  mutedChatsShare,
  PUSH_WORKER_URL,
  SETTINGS_CACHE,
  webPushDisable,
  webPushEnable,
  webPushForget,
  webPushState,
  type PushApi,
  type PushBrowser,
} from "@/lib/webPush";

const SERVER_KEY = "BKge0tBDPMVdn4gFJw98YaIuOQoGRVPevuTctIxM4ntHXgk_CQb0s410PUZey0Fcp1H4WKZRYc_4e_VhN3DOcX0";

function fakeSubscription(endpoint: string, key: Uint8Array | null) {
  return {
    endpoint,
    options: { applicationServerKey: key ? key.buffer : null },
    unsubscribe: vi.fn(async () => true),
    toJSON: () => ({ endpoint, keys: { p256dh: "p", auth: "a" } }),
  };
}

function fakeBrowser({ permission = "granted" as NotificationPermission, existing = null as ReturnType<typeof fakeSubscription> | null } = {}) {
  let current = existing;
  const pushManager = {
    getSubscription: vi.fn(async () => current),
    subscribe: vi.fn(async (options: { applicationServerKey: Uint8Array }) => {
      current = fakeSubscription("https://push.example/new", options.applicationServerKey);
      return current;
    }),
  };
  let registered = existing !== null;
  const registration = { pushManager };
  const browser = {
    serviceWorker: {
      register: vi.fn(async () => {
        registered = true;
        return registration;
      }),
      getRegistration: vi.fn(async () => (registered ? registration : undefined)),
    },
    requestPermission: vi.fn(async () => permission),
  };
  return { browser: browser as unknown as PushBrowser & typeof browser, pushManager, current: () => current };
}

function fakeApi(enabled = true): PushApi & { [K in keyof PushApi]: ReturnType<typeof vi.fn> } {
  return {
    pushConfig: vi.fn(async () => ({ enabled, public_key: enabled ? SERVER_KEY : null })),
    pushSubscribe: vi.fn(async () => ({ subscribed: true })),
    pushUnsubscribe: vi.fn(async () => ({ subscribed: false })),
  };
}

describe("Web Push subscription", () => {
  it("decodes the server's key into the 65 bytes of a P-256 point", () => {
    const bytes = keyBytes(SERVER_KEY);
    expect(bytes.length).toBe(65);
    expect(bytes[0]).toBe(4);
  });

  it("asks for permission, registers the worker, subscribes with the server's key and tells the server", async () => {
    const { browser, pushManager } = fakeBrowser();
    const api = fakeApi();
    expect(await webPushEnable(browser, api)).toBe("on");
    expect(browser.requestPermission).toHaveBeenCalledOnce();
    expect(browser.serviceWorker.register).toHaveBeenCalledWith(PUSH_WORKER_URL);
    const options = pushManager.subscribe.mock.calls[0][0] as { userVisibleOnly: boolean; applicationServerKey: Uint8Array };
    expect(options.userVisibleOnly).toBe(true);
    expect([...options.applicationServerKey]).toEqual([...keyBytes(SERVER_KEY)]);
    expect(api.pushSubscribe).toHaveBeenCalledWith({ endpoint: "https://push.example/new", keys: { p256dh: "p", auth: "a" } });
  });

  it("replaces a subscription made with another key, and reuses one made with this key", async () => {
    const stale = fakeSubscription("https://push.example/old", new Uint8Array(65).fill(7));
    const { browser, pushManager } = fakeBrowser({ existing: stale });
    await webPushEnable(browser, fakeApi());
    expect(stale.unsubscribe).toHaveBeenCalledOnce();
    expect(pushManager.subscribe).toHaveBeenCalledOnce();

    const kept = fakeSubscription("https://push.example/kept", keyBytes(SERVER_KEY));
    const again = fakeBrowser({ existing: kept });
    const api = fakeApi();
    await webPushEnable(again.browser, api);
    expect(again.pushManager.subscribe).not.toHaveBeenCalled();
    expect(api.pushSubscribe).toHaveBeenCalledWith(kept.toJSON());
  });

  it("subscribes nothing when permission is refused or the server has no Web Push", async () => {
    const refused = fakeBrowser({ permission: "denied" });
    expect(await webPushEnable(refused.browser, fakeApi())).toBe("denied");
    expect(refused.pushManager.subscribe).not.toHaveBeenCalled();

    const off = fakeBrowser();
    expect(await webPushEnable(off.browser, fakeApi(false))).toBe("unavailable");
    expect(off.browser.requestPermission).not.toHaveBeenCalled();
    expect(await webPushState(null, fakeApi())).toBe("unsupported");
  });

  it("turning it off tells the server and drops the browser's subscription; logging out drops it too", async () => {
    const existing = fakeSubscription("https://push.example/s", keyBytes(SERVER_KEY));
    const { browser } = fakeBrowser({ existing });
    const api = fakeApi();
    expect(await webPushState(browser, api)).toBe("on");
    expect(await webPushDisable(browser, api)).toBe("off");
    expect(api.pushUnsubscribe).toHaveBeenCalledWith("https://push.example/s");
    expect(existing.unsubscribe).toHaveBeenCalledOnce();

    const other = fakeSubscription("https://push.example/t", keyBytes(SERVER_KEY));
    await webPushForget(fakeBrowser({ existing: other }).browser);
    expect(other.unsubscribe).toHaveBeenCalledOnce();
  });

  it("copies the muted chats where the service worker reads them", async () => {
    const put = vi.fn(async () => undefined);
    const storage = { open: vi.fn(async () => ({ put })) } as unknown as CacheStorage;
    await mutedChatsShare(new Set(["b", "a"]), storage);
    expect(storage.open).toHaveBeenCalledWith(SETTINGS_CACHE);
    const [url, response] = put.mock.calls[0] as unknown as [string, Response];
    expect(url).toBe(MUTED_CHATS_URL);
    expect(await response.json()).toEqual(["a", "b"]);
  });
});
