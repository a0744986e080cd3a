/**
 * Web Push: the browser's subscription to this server's pushes, so that a new message reaches
 * the user while no tab of the app is open (the service worker `public/push-sw.js` shows it).
 * Turned on from the profile page only, by the user's own click; turned off there, and on this
 * browser at logout (the browser forgets the subscription, and the server forgets it at the
 * next push, which the push service answers "gone").
 */
import type { PushConfig, PushSubscriptionReply } from "./types";

export const PUSH_WORKER_URL = "/push-sw.js";
// Read by push-sw.js: the chats muted on this device, which it keeps silent.
export const SETTINGS_CACHE = "commonality-settings";
export const MUTED_CHATS_URL = "/__commonality/muted-chats";

export interface PushApi {
  pushConfig: () => Promise<PushConfig>;
  pushSubscribe: (subscription: PushSubscriptionJSON) => Promise<PushSubscriptionReply>;
  pushUnsubscribe: (endpoint: string) => Promise<PushSubscriptionReply>;
}

/** What of the browser this needs (the real one, or a test's). */
export interface PushBrowser {
  serviceWorker: Pick<ServiceWorkerContainer, "register" | "getRegistration">;
  requestPermission: () => Promise<NotificationPermission>;
}

export type PushState = "on" | "off" | "unsupported" | "unavailable" | "denied";

export function browserForPush(): PushBrowser | null {
  if (typeof window === "undefined" || !("serviceWorker" in navigator) || !("PushManager" in window)) return null;
  if (!("Notification" in window)) return null;
  return { serviceWorker: navigator.serviceWorker, requestPermission: () => Notification.requestPermission() };
}

/** The server's key, as `applicationServerKey` wants it. */
export function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

function sameKey(subscription: PushSubscription, key: Uint8Array): boolean {
  const current = subscription.options?.applicationServerKey;
  if (!current) return true;
  const bytes = new Uint8Array(current);
  return bytes.length === key.length && bytes.every((byte, index) => byte === key[index]);
}

async function currentSubscription(browser: PushBrowser): Promise<PushSubscription | null> {
  const registration = await browser.serviceWorker.getRegistration(PUSH_WORKER_URL);
  return registration ? registration.pushManager.getSubscription() : null;
}

/** Is this browser subscribed (as far as it knows)? */
export async function webPushState(browser: PushBrowser | null, api: PushApi): Promise<PushState> {
  if (!browser) return "unsupported";
  const config = await api.pushConfig();
  if (!config.enabled || !config.public_key) return "unavailable";
  return (await currentSubscription(browser)) ? "on" : "off";
}

/** Asks for permission if needed, subscribes this browser with the server's key, and gives the
 *  subscription to the server. */
export async function webPushEnable(browser: PushBrowser | null, api: PushApi): Promise<PushState> {
  if (!browser) return "unsupported";
  const config = await api.pushConfig();
  if (!config.enabled || !config.public_key) return "unavailable";
  if ((await browser.requestPermission()) !== "granted") return "denied";
  const key = keyBytes(config.public_key);
  const registration = await browser.serviceWorker.register(PUSH_WORKER_URL);
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription, key)) {
    // Made with a key the server no longer has: its pushes could never be delivered.
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  await api.pushSubscribe(subscription.toJSON());
  return "on";
}

/** The server stops pushing to this browser, and the browser drops the subscription. */
export async function webPushDisable(browser: PushBrowser | null, api: PushApi): Promise<PushState> {
  if (!browser) return "unsupported";
  const subscription = await currentSubscription(browser);
  if (subscription) {
    await api.pushUnsubscribe(subscription.endpoint).catch(() => undefined);
    await subscription.unsubscribe();
  }
  return "off";
}

/** At logout: this browser stops getting the user's pushes (no token is needed: the push
 *  service tells the server the subscription is gone). Never throws. */
export async function webPushForget(browser: PushBrowser | null = browserForPush()): Promise<void> {
  try {
    const subscription = browser ? await currentSubscription(browser) : null;
    await subscription?.unsubscribe();
  } catch {
    // Nothing more can be done here; the subscription lapses with the browser's data.
  }
}

/** Copies the chats muted on this device where the service worker reads them. */
export async function mutedChatsShare(chats: Iterable<string>, storage: CacheStorage | null = globalCaches()): Promise<void> {
  if (!storage) return;
  try {
    const cache = await storage.open(SETTINGS_CACHE);
    await cache.put(MUTED_CHATS_URL, new Response(JSON.stringify([...chats].sort()), { headers: { "Content-Type": "application/json" } }));
  } catch {
    // Storage refused (private mode, quota): pushes of muted chats still show.
  }
}

function globalCaches(): CacheStorage | null {
  return typeof caches === "undefined" ? null : caches;
}
