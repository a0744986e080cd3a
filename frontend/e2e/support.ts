import { expect, type BrowserContext, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), "screenshots");
/** What the voice tests' fake microphone plays (global setup makes it with espeak-ng). */
export const SPEECH_WAV = join(dirname(fileURLToPath(import.meta.url)), ".state", "speech.wav");
export const SPOKEN_SENTENCE = "Hello Beto. This is Ava, speaking English into a fake microphone.";
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 812 };

export function baseUrl(): string {
  const url = process.env.E2E_BASE_URL;
  if (!url) throw new Error("E2E_BASE_URL is not set (global setup did not run?)");
  return url;
}

export function apiUrl(): string {
  const url = process.env.E2E_API_URL;
  if (!url) throw new Error("E2E_API_URL is not set (global setup did not run?)");
  return url;
}

/** A screenshot of the page at desktop and at phone width: <name>.desktop.png, <name>.phone.png. */
export async function snap(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const original = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.desktop.png`) });
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.phone.png`) });
  await page.setViewportSize(original);
  await page.waitForTimeout(100);
}

/** Console errors and uncaught exceptions of a page, minus the ones a test expects. */
export function watchConsole(page: Page, label: string): { errors: string[] } {
  const record = { errors: [] as string[] };
  page.on("console", (message) => {
    if (message.type() === "error") record.errors.push(`[${label}] ${message.text()}`);
  });
  page.on("pageerror", (error) => record.errors.push(`[${label}] uncaught: ${error.message}`));
  return record;
}

export interface Person {
  username: string;
  password: string;
  first: string;
  last: string;
  language: string;
}

export function person(prefix: string, first: string, language: string): Person {
  const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  return { username: `${prefix}_${suffix}`, password: "correct horse battery", first, last: "Tester", language };
}

export async function signUpInBrowser(page: Page, who: Person): Promise<void> {
  await page.goto(`${baseUrl()}/signup`);
  await expect(page.getByLabel("Your language")).toBeEnabled();
  await page.getByLabel("Your language").selectOption(who.language);
  await page.getByLabel("First name").fill(who.first);
  await page.getByLabel("Last name").fill(who.last);
  await page.getByLabel("Username").fill(who.username);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(/\/chats$/);
}

export async function signUpByApi(who: Person): Promise<void> {
  const response = await fetch(`${apiUrl()}/api/auth/signup`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      username: who.username,
      password: who.password,
      first_name: who.first,
      last_name: who.last,
      native_language: who.language,
    }),
  });
  if (response.status !== 201) throw new Error(`signup ${who.username}: ${response.status} ${await response.text()}`);
}

/** An access token for `who`, logged in through the API. */
export async function tokenOf(who: Person): Promise<string> {
  const response = await fetch(`${apiUrl()}/api/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: who.username, password: who.password }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!response.ok || !body.access_token) throw new Error(`login ${who.username}: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/** `POST /api/chats` with `body` ({username} or {title, usernames}): the new chat's id. */
export async function createChat(token: string, body: object): Promise<string> {
  const response = await fetch(`${apiUrl()}/api/chats`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const created = (await response.json()) as { chat_id?: string };
  if (!response.ok || !created.chat_id) throw new Error(`create chat: ${response.status} ${JSON.stringify(created)}`);
  return created.chat_id;
}

/** The id of a 1:1 chat `who` starts with `other`, through the API. */
export async function directChatId(who: Person, other: Person): Promise<string> {
  return createChat(await tokenOf(who), { username: other.username });
}

/** Logs `who` in through the log-in form and waits for the inbox, connected. */
export async function logInInBrowser(page: Page, who: Person): Promise<void> {
  await page.goto(`${baseUrl()}/`);
  await page.getByLabel("Username").fill(who.username);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/chats$/);
  await expectConnected(page);
}

export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByTestId("composer");
  await box.fill(text);
  await box.press("Enter");
  await expect(box).toHaveValue("");
}

/** The committed messages whose text is exactly `text`. */
export function messagesWithText(page: Page, text: string) {
  return page.getByTestId("message").filter({ has: page.getByTestId("message-text").getByText(text, { exact: true }) });
}

export async function expectConnected(page: Page): Promise<void> {
  await expect(page.getByTestId("connection-status").first()).toHaveAttribute("data-status", "connected");
}

export async function newContext(browser: import("@playwright/test").Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: DESKTOP, locale: "en-US", timezoneId: "UTC" });
}

/** Opens a chat (with `query`, e.g. "?at=12") and waits for its socket. */
export async function openChat(page: Page, chatId: string, query = ""): Promise<void> {
  await page.goto(`${baseUrl()}/chats/${chatId}${query}`);
  await expectConnected(page);
}

export interface TwoInAChat {
  chatId: string;
  pageA: Page;
  pageB: Page;
  /** Each page's console errors, labelled with its person's first name. */
  consoles: { errors: string[] }[];
  close(): Promise<void>;
}

/** `a` and `b`, signed up by the API, in a direct chat, each logged in to a browser of their
 * own with the chat open and connected. */
export async function twoInADirectChat(browser: import("@playwright/test").Browser, a: Person, b: Person): Promise<TwoInAChat> {
  await signUpByApi(a);
  await signUpByApi(b);
  const chatId = await directChatId(a, b);
  const ctxA = await newContext(browser);
  const ctxB = await newContext(browser);
  const pageA = await ctxA.newPage();
  const pageB = await ctxB.newPage();
  const consoles = [watchConsole(pageA, a.first.toLowerCase()), watchConsole(pageB, b.first.toLowerCase())];
  await logInInBrowser(pageA, a);
  await logInInBrowser(pageB, b);
  await openChat(pageA, chatId);
  await openChat(pageB, chatId);
  return {
    chatId,
    pageA,
    pageB,
    consoles,
    close: async () => {
      await ctxA.close();
      await ctxB.close();
    },
  };
}

/** A port nobody listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}
