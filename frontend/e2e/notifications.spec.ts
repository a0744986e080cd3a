/**
 * Browser notifications, in two browsers against the real backend: Ana writes Spanish, Ben
 * reads English. Ben's browser has the notification permission granted, and an init script
 * records what `new Notification(...)` would show and lets the test hide his tab (document.hidden
 * + visibilitychange). A message while his tab is hidden gives one notification with the
 * translated text and Ana's name; his own message none; clicking it opens the chat; after he
 * mutes the chat, none, and his other device (a second browser) shows it muted at once.
 */
import { expect, test, type Page } from "@playwright/test";
import { baseUrl, directChatId, expectConnected, logInInBrowser, messagesWithText, newContext, person, send, signUpByApi, snap, watchConsole } from "./support";

interface Shown {
  title: string;
  body: string;
  tag: string;
}

/** Runs in Ben's page before the app: a recording Notification, and a tab the test can hide. */
function recordNotifications(): void {
  const Real = window.Notification;
  const shown: Shown[] = [];
  const made: Array<{ onclick: (() => void) | null }> = [];
  class RecordingNotification {
    static get permission(): NotificationPermission {
      return Real.permission;
    }
    static requestPermission(): Promise<NotificationPermission> {
      return Real.requestPermission();
    }
    onclick: (() => void) | null = null;
    onclose: (() => void) | null = null;
    constructor(title: string, options: NotificationOptions = {}) {
      shown.push({ title, body: options.body ?? "", tag: options.tag ?? "" });
      made.push(this);
    }
    close(): void {}
  }
  Object.defineProperty(window, "Notification", { value: RecordingNotification, configurable: true, writable: true });
  let hidden = false;
  Object.defineProperty(Document.prototype, "hidden", { get: () => hidden, configurable: true });
  Object.defineProperty(Document.prototype, "visibilityState", { get: () => (hidden ? "hidden" : "visible"), configurable: true });
  const w = window as unknown as Record<string, unknown>;
  w.__shown = shown;
  w.__clickLast = () => made.at(-1)?.onclick?.();
  w.__setHidden = (value: boolean) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
}

const shown = (page: Page) => page.evaluate(() => (window as unknown as { __shown: Shown[] }).__shown.slice());
const setHidden = (page: Page, hidden: boolean) =>
  page.evaluate((value) => (window as unknown as { __setHidden: (v: boolean) => void }).__setHidden(value), hidden);

test("a message while the tab is hidden shows one notification in the reader's language; none once muted, on every device", async ({ browser }) => {
  const ana = person("ana", "Ana", "es");
  const ben = person("ben", "Ben", "en");
  await signUpByApi(ana);
  await signUpByApi(ben);
  const chatId = await directChatId(ana, ben);
  const chatUrl = `${baseUrl()}/chats/${chatId}`;
  const ctxA = await newContext(browser);
  const ctxB = await newContext(browser);
  await ctxB.grantPermissions(["notifications"], { origin: baseUrl() });
  await ctxB.addInitScript(recordNotifications);
  const pageA = await ctxA.newPage();
  const pageB = await ctxB.newPage();
  const consoles = [watchConsole(pageA, "ana"), watchConsole(pageB, "ben")];
  await logInInBrowser(pageA, ana);
  await logInInBrowser(pageB, ben);
  await pageA.goto(chatUrl);
  await pageB.goto(chatUrl);
  await expectConnected(pageA);
  await expectConnected(pageB);

  // Visible: nothing. Hidden: Ana's message, in English, under her name, once.
  await send(pageA, "Hola Ben, ¿estás ahí?");
  await expect(messagesWithText(pageB, "[en] Hola Ben, ¿estás ahí?")).toHaveCount(1);
  await setHidden(pageB, true);
  await send(pageA, "¿Vienes a cenar esta noche?");
  await expect(messagesWithText(pageB, "[en] ¿Vienes a cenar esta noche?")).toHaveCount(1);
  await expect.poll(() => shown(pageB)).toEqual([{ title: "Ana Tester", body: "[en] ¿Vienes a cenar esta noche?", tag: `commonality-chat-${chatId}` }]);

  // His own message, sent while hidden: none.
  await send(pageB, "Yes, at eight");
  await expect(messagesWithText(pageA, "[es] Yes, at eight")).toHaveCount(1);
  await pageB.waitForTimeout(500);
  expect(await shown(pageB)).toHaveLength(1);

  // The profile page says notifications are on (the permission was granted).
  await setHidden(pageB, false);
  await pageB.getByRole("link", { name: /Your profile/ }).click();
  await expect(pageB.getByTestId("notification-settings")).toHaveAttribute("data-permission", "granted");
  await expect(pageB.getByTestId("notification-settings")).toContainText("On: a new message or a call shows a notification");
  await pageB.getByTestId("notification-settings").scrollIntoViewIfNeeded();
  await snap(pageB, "notifications-profile");

  // From another page: clicking the notification opens the chat.
  await setHidden(pageB, true);
  await send(pageA, "Perfecto, hasta luego");
  await expect.poll(async () => (await shown(pageB)).length).toBe(2);
  expect((await shown(pageB))[1]).toMatchObject({ title: "Ana Tester", body: "[en] Perfecto, hasta luego" });
  await pageB.evaluate(() => (window as unknown as { __clickLast: () => void }).__clickLast());
  await pageB.waitForURL(chatUrl);

  // Ben's other device, with the chat's details open.
  const ctxLaptop = await newContext(browser);
  const laptop = await ctxLaptop.newPage();
  consoles.push(watchConsole(laptop, "ben-laptop"));
  await logInInBrowser(laptop, ben);
  await laptop.goto(chatUrl);
  await expectConnected(laptop);
  await laptop.getByRole("button", { name: "Chat details" }).click();
  const laptopMute = laptop.getByRole("checkbox", { name: "Mute notifications" });
  await expect(laptopMute).not.toBeChecked();

  // Muted (kept by the server): the message arrives, no notification; the laptop follows.
  await setHidden(pageB, false);
  await pageB.getByRole("button", { name: "Chat details" }).click();
  const mute = pageB.getByRole("checkbox", { name: "Mute notifications" });
  await mute.check();
  await expect(mute).toBeChecked();
  await expect(pageB.getByText("On all your devices: no notifications for this chat")).toBeVisible();
  await snap(pageB, "notifications-mute");
  await expect(laptopMute).toBeChecked();
  await laptop.reload();
  await expectConnected(laptop);
  await laptop.getByRole("button", { name: "Chat details" }).click();
  await expect(laptop.getByRole("checkbox", { name: "Mute notifications" })).toBeChecked();
  await setHidden(pageB, true);
  await send(pageA, "Una cosa más");
  await expect(messagesWithText(pageB, "[en] Una cosa más")).toHaveCount(1);
  await pageB.waitForTimeout(500);
  expect(await shown(pageB)).toHaveLength(2);

  for (const record of consoles) expect(record.errors).toEqual([]);
  await ctxA.close();
  await ctxB.close();
  await ctxLaptop.close();
});
