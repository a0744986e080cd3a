/*
 * Commonality's service worker: shows a Web Push (a new message for someone with no tab of
 * the app open) as a notification, and opens the chat when it is clicked. The server pushes
 * only to people with no socket open, so a page never shows the same message twice. The
 * server sends no message of a chat the person muted; the page copies the muted list into the
 * Cache below all the same, so a push sent just before a mute reached the server stays silent.
 * A muted chat's calls still ring.
 */
const SETTINGS_CACHE = "commonality-settings";
const MUTED_CHATS_URL = "/__commonality/muted-chats";

async function mutedChats() {
  try {
    const cache = await caches.open(SETTINGS_CACHE);
    const stored = await cache.match(MUTED_CHATS_URL);
    const chats = stored ? await stored.json() : [];
    return Array.isArray(chats) ? chats : [];
  } catch {
    return [];
  }
}

/** A path on this site, never another site's address (`//host` is one). */
function sitePath(url) {
  return typeof url === "string" && url.startsWith("/") && !url.startsWith("//") && !url.startsWith("/\\") ? url : "/chats";
}

async function pushShow(payload) {
  if (!payload || (payload.type !== "message" && payload.type !== "call") || typeof payload.chat_id !== "string") return;
  if (payload.type === "message" && (await mutedChats()).includes(payload.chat_id)) return;
  const options = {
    body: String(payload.body || ""),
    tag: String(payload.tag || payload.chat_id),
    icon: "/icon.svg",
    data: { url: sitePath(payload.url) },
  };
  if (typeof payload.language === "string") options.lang = payload.language;
  // A ringing call stays up until it is answered or dismissed, like a phone's.
  if (payload.type === "call") options.requireInteraction = true;
  await self.registration.showNotification(String(payload.title || "Commonality"), options);
}

self.addEventListener("push", (event) => {
  let payload;
  try {
    payload = event.data ? event.data.json() : null;
  } catch {
    payload = null; // not ours, or damaged: nothing to show
  }
  event.waitUntil(pushShow(payload));
});

async function chatOpen(url) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if ("focus" in client) {
      await client.focus();
      if ("navigate" in client) await client.navigate(url);
      return;
    }
  }
  await self.clients.openWindow(url);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = event.notification.data && event.notification.data.url;
  event.waitUntil(chatOpen(typeof url === "string" ? url : "/chats"));
});
