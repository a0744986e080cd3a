/**
 * Web Push's service worker (public/push-sw.js) in real Chromium: a push delivered to it
 * (through the DevTools protocol, as the browser's push service would, since no push service
 * can be reached from here) shows a notification with the text it carries; clicking opens
 * the chat; a muted chat's messages stay silent, its calls ring. The server's side (VAPID, encryption,
 * who is pushed) is tested against a loopback push service in tests/chats/test_push_notifications.py.
 */
import { expect, test, type CDPSession, type Page } from "@playwright/test";
import { baseUrl, directChatId, expectConnected, logInInBrowser, newContext, person, signUpByApi, snap, watchConsole } from "./support";

const WORKER = "/push-sw.js";

async function workerRegistrationId(cdp: CDPSession): Promise<string> {
  const found = new Promise<string>((resolve) => {
    cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
      const ours = registrations.find((registration) => registration.scopeURL.startsWith(baseUrl()) && !registration.isDeleted);
      if (ours) resolve(ours.registrationId);
    });
  });
  await cdp.send("ServiceWorker.enable");
  return found;
}

async function deliver(cdp: CDPSession, registrationId: string, payload: object): Promise<void> {
  await cdp.send("ServiceWorker.deliverPushMessage", {
    origin: baseUrl(),
    registrationId,
    data: JSON.stringify(payload),
  });
}

/**
 * Delivers a push until the worker shows it. A DevTools delivery to a worker that is starting
 * or stopping is now and then dropped on a loaded machine (seen once in CI); a push service
 * would retry it, and the same tag makes a second delivery replace the first.
 */
async function deliverUntilShown(cdp: CDPSession, registrationId: string, page: Page, payload: { body: string } & Record<string, unknown>): Promise<void> {
  await expect(async () => {
    await deliver(cdp, registrationId, payload);
    await expect.poll(async () => (await notifications(page)).map((shown) => shown.body), { timeout: 5000 }).toContain(payload.body);
  }).toPass({ timeout: 30000 });
}

const notifications = (page: Page) =>
  page.evaluate(async (worker) => {
    const registration = await navigator.serviceWorker.getRegistration(worker);
    const shown = registration ? await registration.getNotifications() : [];
    return shown.map((notification) => ({ title: notification.title, body: notification.body, tag: notification.tag }));
  }, WORKER);

test("a push reaches the service worker and shows in the reader's language; a muted chat's does not", async ({ browser }) => {
  const ana = person("ana", "Ana", "es");
  const ben = person("ben", "Ben", "en");
  await signUpByApi(ana);
  await signUpByApi(ben);
  const chatId = await directChatId(ana, ben);
  const context = await newContext(browser);
  await context.grantPermissions(["notifications"], { origin: baseUrl() });
  const page = await context.newPage();
  const console = watchConsole(page, "ben");
  await logInInBrowser(page, ben);
  await page.goto(`${baseUrl()}/chats/${chatId}`);
  await expectConnected(page);

  // What the profile's switch does first: register the worker (the subscription itself needs a
  // push service, out of reach here).
  await page.evaluate((worker) => navigator.serviceWorker.register(worker).then(() => navigator.serviceWorker.ready), WORKER);
  const cdp = await context.newCDPSession(page);
  const registrationId = await workerRegistrationId(cdp);

  const push = {
    type: "message",
    chat_id: chatId,
    seq: 1,
    message_id: "m1",
    title: "Ana Tester",
    body: "[en] Are you coming to dinner tonight?",
    language: "en",
    url: `/chats/${chatId}`,
    tag: `chat:${chatId}`,
  };
  await deliverUntilShown(cdp, registrationId, page, push);
  expect(await notifications(page)).toEqual([{ title: "Ana Tester", body: "[en] Are you coming to dinner tonight?", tag: `chat:${chatId}` }]);

  // Muted (the server sends no more of its messages): a push sent just before the mute reached
  // it finds the worker reading the list the page shares with it, and shows nothing.
  await page.evaluate(async (worker) => {
    const registration = await navigator.serviceWorker.getRegistration(worker);
    for (const notification of (await registration?.getNotifications()) ?? []) notification.close();
  }, WORKER);
  await page.getByRole("button", { name: "Chat details" }).click();
  await page.getByRole("checkbox", { name: "Mute notifications" }).check();
  await snap(page, "web-push-muted-chat");
  await expect
    .poll(() => page.evaluate(async () => (await (await caches.open("commonality-settings")).match("/__commonality/muted-chats"))?.json()))
    .toEqual([chatId]);
  await deliver(cdp, registrationId, { ...push, seq: 2, message_id: "m2", body: "[en] One more thing" });
  // A muted chat's call still rings; the message delivered before it never shows.
  const call = { type: "call", chat_id: chatId, call_id: "k1", title: "Ana Tester", body: "Incoming call", url: `/chats/${chatId}`, tag: "call:k1" };
  await deliverUntilShown(cdp, registrationId, page, call);
  await page.waitForTimeout(1000);
  expect((await notifications(page)).map((shown) => shown.body)).toEqual(["Incoming call"]);
  await page.evaluate(async (worker) => {
    const registration = await navigator.serviceWorker.getRegistration(worker);
    for (const notification of (await registration?.getNotifications()) ?? []) notification.close();
  }, WORKER);

  // Unmuted again: pushes show.
  await page.getByRole("checkbox", { name: "Mute notifications" }).uncheck();
  await expect
    .poll(() => page.evaluate(async () => (await (await caches.open("commonality-settings")).match("/__commonality/muted-chats"))?.json()))
    .toEqual([]);
  await deliverUntilShown(cdp, registrationId, page, { ...push, seq: 3, message_id: "m3", body: "[en] See you" });
  expect((await notifications(page)).map((shown) => shown.body)).toEqual(["[en] See you"]);

  expect(console.errors).toEqual([]);
  await context.close();
});
