/**
 * Two people with no language in common, in two browsers: Alice writes English, Bruno reads
 * and writes Spanish. Everything goes through the real backend, translated by the loopback
 * fake translator ("[es] text").
 */
import { expect, test, type BrowserContext, type Page, type WebSocketRoute } from "@playwright/test";
import {
  baseUrl,
  expectConnected,
  messagesWithText,
  newContext,
  person,
  send,
  signUpByApi,
  signUpInBrowser,
  snap,
  SCREENSHOTS,
  watchConsole,
} from "./support";

const alice = person("alice", "Alice", "en");
const bruno = person("bruno", "Bruno", "es");
const chloe = person("chloe", "Chloé", "fr");

/** Console errors the browser itself prints for failures these tests cause on purpose. */
const EXPECTED_CONSOLE = [
  /Failed to load resource: the server responded with a status of 401/, // expired session
  /Failed to load resource: the server responded with a status of 503/, // voice without LiveKit keys
  /WebSocket connection to .* failed/, // cutting the connection
  /net::ERR_INTERNET_DISCONNECTED/, // offline
];

test.describe.configure({ mode: "serial" });

let ctxA: BrowserContext;
let ctxB: BrowserContext;
let pageA: Page;
let pageB: Page;
const consoles: Array<{ errors: string[] }> = [];
const brunoSockets: WebSocketRoute[] = [];
let chatUrl = "";

test.beforeAll(async ({ browser }) => {
  ctxA = await newContext(browser);
  ctxB = await newContext(browser);
  // Bruno's socket goes through a route the test can cut (like a dropped connection).
  await ctxB.routeWebSocket(/\/api\/ws\/chat/, (ws) => {
    ws.connectToServer();
    brunoSockets.push(ws);
  });
  pageA = await ctxA.newPage();
  pageB = await ctxB.newPage();
  consoles.push(watchConsole(pageA, "alice"), watchConsole(pageB, "bruno"));
});

test.afterAll(async () => {
  await ctxA?.close();
  await ctxB?.close();
});

test("landing and sign up", async ({ browser }) => {
  await pageA.goto(baseUrl());
  await expect(pageA.getByRole("heading", { name: /Write in your language/ })).toBeVisible();
  await snap(pageA, "01-landing");

  // a wrong password is explained in the backend's words
  await pageA.getByLabel("Username").fill("nobody_here");
  await pageA.getByLabel("Password").fill("wrong password");
  await pageA.getByRole("button", { name: "Log in" }).click();
  await expect(pageA.locator(".form-error")).toHaveText("Invalid username or password");

  await pageA.getByRole("link", { name: "Create an account" }).click();
  await expect(pageA.getByLabel("Your language")).toBeEnabled();
  await expect(pageA.getByText(/At least \d+ characters/)).toBeVisible();
  await snap(pageA, "02-signup");

  await signUpInBrowser(pageA, alice);
  await signUpInBrowser(pageB, bruno);
  await signUpByApi(chloe);
  await expect(pageA.getByText("No conversations yet.")).toBeVisible();
  await expectConnected(pageA);
  await snap(pageA, "03-inbox-empty");

  // taken usernames come back as the backend says it
  const ctx = await newContext(browser);
  await signUpFails(await ctx.newPage());
  await ctx.close();
});

async function signUpFails(page: Page) {
  await page.goto(`${baseUrl()}/signup`);
  await expect(page.getByLabel("Your language")).toBeEnabled();
  await page.getByLabel("First name").fill("Copy");
  await page.getByLabel("Last name").fill("Cat");
  await page.getByLabel("Username").fill(bruno.username);
  await page.getByLabel("Password").fill("long enough password");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator(".form-error")).toHaveText("Username already taken");
}

test("a conversation across languages, translated live", async () => {
  await pageA.getByRole("button", { name: "New chat" }).click();
  await pageA.getByLabel("Their username").fill(bruno.username);
  await pageA.getByRole("button", { name: "Start chat" }).click();
  await pageA.waitForURL(/\/chats\/[0-9a-f]+$/);
  chatUrl = pageA.url();
  await expect(pageA.getByRole("heading", { name: "Bruno Tester" })).toBeVisible();
  await expect(pageA.getByTestId("conv-subtitle")).toContainText(`@${bruno.username} · reads in Español`);

  // Bruno is on his inbox: the new chat and the message arrive there live
  await expect(pageB.getByTestId("chat-item")).toHaveCount(1);
  await send(pageA, "Hello Bruno, how are you today?");
  await expect(messagesWithText(pageA, "Hello Bruno, how are you today?")).toHaveCount(1);
  await expect(pageB.getByTestId("chat-item").first()).toContainText("[es] Hello Bruno, how are you today?");
  await expect(pageB.getByTestId("unread-badge")).toHaveText("1");
  await snap(pageB, "04-inbox-unread");

  // Bruno opens it: in Spanish, with the original one click away; Alice sees "Seen"
  await pageB.getByTestId("chat-item").first().click();
  await expect(messagesWithText(pageB, "[es] Hello Bruno, how are you today?")).toHaveCount(1);
  await expect(pageB.getByTestId("unread-badge")).toHaveCount(0);
  await expect(pageA.getByTestId("delivery").last()).toHaveText("Seen");

  // Bruno types: Alice sees it
  await pageB.getByTestId("composer").pressSequentially("Muy bien", { delay: 30 });
  await expect(pageA.getByTestId("conv-subtitle")).toHaveText(/is typing…/);

  // Bruno's answer streams into Alice's English while it's being translated
  await pageB.getByTestId("composer").fill("Muy bien, gracias. Y tú, ¿qué tal el viaje a Lisboa?");
  await pageB.getByTestId("composer").press("Enter");
  // (the fake translator streams a word every 0.12 s: the partial translation shows first)
  await expect(pageA.getByTestId("streaming-message")).toContainText("[en] Muy");
  await pageA.screenshot({ path: `${SCREENSHOTS}/06a-translation-streaming.desktop.png` });
  await expect(messagesWithText(pageA, "[en] Muy bien, gracias. Y tú, ¿qué tal el viaje a Lisboa?")).toHaveCount(1);
  await expect(pageA.getByTestId("streaming-message")).toHaveCount(0);

  const messageId = await messagesWithText(pageB, "[es] Hello Bruno, how are you today?").getAttribute("data-message-id");
  const translated = pageB.locator(`[data-message-id="${messageId}"]`);
  await translated.getByTestId("toggle-original").click();
  await expect(translated.getByTestId("toggle-original")).toHaveAttribute("aria-pressed", "true");
  await expect(pageB.getByText("Hello Bruno, how are you today?", { exact: true })).toBeVisible();
  await snap(pageB, "05-conversation-spanish-reader");
  await translated.getByTestId("toggle-original").click();
  await snap(pageA, "06-conversation-english-reader");

  // Enter sends, Shift+Enter makes a new line
  const box = pageA.getByTestId("composer");
  await box.fill("line one");
  await box.press("Shift+Enter");
  await box.pressSequentially("line two");
  await expect(box).toHaveValue("line one\nline two");
  await box.press("Enter");
  await expect(messagesWithText(pageB, "[es] line one\nline two")).toHaveCount(1);

  // the character counter near the limit
  await box.fill("x".repeat(1900));
  await expect(pageA.getByTestId("char-counter")).toHaveText("1900 / 2000");
  await box.fill("x".repeat(2005));
  await expect(pageA.getByTestId("char-counter")).toHaveText("5 over the 2000-character limit");
  await expect(pageA.getByRole("button", { name: "Send message" })).toBeDisabled();
  await box.fill("");
});

test("a translation that fails first is marked, then fills in", async () => {
  await send(pageB, "A veces la traducción tarda (flaky)");
  const untranslated = messagesWithText(pageA, "A veces la traducción tarda (flaky)");
  await expect(untranslated.getByTestId("untranslated")).toHaveText("Not translated yet · Spanish");
  await expect(messagesWithText(pageA, "[en] A veces la traducción tarda (flaky)")).toHaveCount(1);
  await expect(pageA.getByTestId("untranslated")).toHaveCount(0);
});

test("history survives a reload", async () => {
  await pageB.reload();
  await expect(messagesWithText(pageB, "[es] Hello Bruno, how are you today?")).toHaveCount(1);
  await expect(messagesWithText(pageB, "Muy bien, gracias. Y tú, ¿qué tal el viaje a Lisboa?")).toHaveCount(1);
  await expect(messagesWithText(pageB, "[es] line one\nline two")).toHaveCount(1);
  await expectConnected(pageB);
});

test("offline: nothing lost, nothing doubled", async () => {
  await ctxA.setOffline(true);
  await expect(pageA.getByTestId("connection-status").first()).toHaveAttribute("data-status", "offline");

  await send(pageA, "Written while offline");
  const waiting = pageA.getByTestId("outgoing-message").filter({ hasText: "Written while offline" });
  await expect(waiting).toHaveAttribute("data-status", "waiting");
  await expect(waiting).toContainText("Waiting for connection");

  // Bruno writes meanwhile; Alice can't receive it yet
  await send(pageB, "Te escribo mientras estás desconectada");
  await expect(messagesWithText(pageB, "Te escribo mientras estás desconectada")).toHaveCount(1);
  await snap(pageA, "07-conversation-offline");

  // a reload while offline keeps the queued message (it lives in localStorage)
  await ctxA.setOffline(false);
  await expectConnected(pageA);

  // Both messages arrive exactly once on each side
  await expect(pageA.getByTestId("outgoing-message")).toHaveCount(0);
  await expect(messagesWithText(pageA, "Written while offline")).toHaveCount(1);
  await expect(messagesWithText(pageB, "[es] Written while offline")).toHaveCount(1);
  await expect(messagesWithText(pageA, "[en] Te escribo mientras estás desconectada")).toHaveCount(1);
});

test("a message queued in a closed tab goes out once from the next one", async () => {
  await ctxA.setOffline(true);
  await expect(pageA.getByTestId("connection-status").first()).toHaveAttribute("data-status", "offline");
  await send(pageA, "Queued in a tab that was closed");
  await expect(pageA.getByTestId("outgoing-message")).toHaveCount(1);
  await pageA.close(); // gone with the message unsent: it lives on in localStorage
  await ctxA.setOffline(false);

  pageA = await ctxA.newPage();
  consoles.push(watchConsole(pageA, "alice-2"));
  await pageA.goto(chatUrl);
  await expectConnected(pageA);
  await expect(messagesWithText(pageA, "Queued in a tab that was closed")).toHaveCount(1);
  await expect(pageA.getByTestId("outgoing-message")).toHaveCount(0);
  await expect(messagesWithText(pageB, "[es] Queued in a tab that was closed")).toHaveCount(1);
});

test("a dropped socket reconnects and resumes", async () => {
  await expectConnected(pageB);
  const current = brunoSockets[brunoSockets.length - 1];
  await current.close({ code: 4001, reason: "test: connection dropped" });
  await expect(pageB.getByTestId("connection-status").first()).not.toHaveAttribute("data-status", "connected");

  // Alice writes while Bruno's socket is down; Bruno writes too
  await send(pageA, "Did you get this one?");
  await send(pageB, "Escribo durante el corte");
  await expectConnected(pageB);
  await expect(messagesWithText(pageB, "[es] Did you get this one?")).toHaveCount(1);
  await expect(messagesWithText(pageB, "Escribo durante el corte")).toHaveCount(1);
  await expect(messagesWithText(pageA, "[en] Escribo durante el corte")).toHaveCount(1);
  await expect(pageB.getByTestId("outgoing-message")).toHaveCount(0);

  // And after a reload, still exactly one of each
  await pageB.reload();
  await expect(messagesWithText(pageB, "[es] Did you get this one?")).toHaveCount(1);
  await expect(messagesWithText(pageB, "Escribo durante el corte")).toHaveCount(1);
  await expect(messagesWithText(pageB, "[es] Written while offline")).toHaveCount(1);
});

test("a group with three languages", async () => {
  await pageA.getByRole("button", { name: "New chat" }).click();
  await pageA.getByRole("button", { name: "Group" }).click();
  await pageA.getByLabel("Group name").fill("Weekend plans");
  await pageA.getByLabel("Usernames").fill(`${bruno.username}, ${chloe.username}`);
  await pageA.getByRole("button", { name: "Create group" }).click();
  await pageA.waitForURL(/\/chats\/[0-9a-f]+$/);
  await expect(pageA.getByRole("heading", { name: "Weekend plans" })).toBeVisible();
  await expect(pageA.getByTestId("conv-subtitle")).toContainText("3 members");
  await send(pageA, "Who is in for Saturday?");
  await expect(messagesWithText(pageA, "Who is in for Saturday?")).toHaveCount(1);

  // Bruno's inbox gets the group live
  await pageB.goto(`${baseUrl()}/chats`);
  const group = pageB.getByTestId("chat-item").filter({ hasText: "Weekend plans" });
  await expect(group).toContainText("[es] Who is in for Saturday?");
  await group.click();
  await send(pageB, "¡Yo me apunto!");
  await expect(messagesWithText(pageA, "[en] ¡Yo me apunto!")).toHaveCount(1);
  await pageA.getByRole("button", { name: "Chat details" }).click();
  await expect(pageA.getByRole("region", { name: "Chat details" })).toContainText("Chloé");
  await snap(pageA, "08-group-conversation");
  await pageA.getByRole("button", { name: "Chat details" }).click();
});

test("profile and call pages", async () => {
  await pageA.goto(`${baseUrl()}/profile`);
  await expect(pageA.getByLabel("First name")).toHaveValue("Alice");
  await snap(pageA, "09-profile");
  await pageA.getByLabel("First name").fill("Alicia");
  await pageA.getByRole("button", { name: "Save changes" }).click();
  await expect(pageA.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await expect(pageA.getByRole("heading", { name: "Alicia Tester" })).toBeVisible();

  await pageA.goto(`${chatUrl}/call`);
  // Without LiveKit keys the backend answers 503 and the page shows its words.
  await expect(pageA.getByTestId("call-status")).toContainText("Voice calls are not configured on this server");
  await snap(pageA, "10-call");
});

test("an expired session goes back to log in, with the reason", async ({ browser }) => {
  const ctx = await newContext(browser);
  await ctx.addInitScript(() => {
    if (!sessionStorage.getItem("seeded")) {
      sessionStorage.setItem("seeded", "1");
      localStorage.setItem("commonality.token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad-signature");
    }
  });
  const page = await ctx.newPage();
  await page.goto(`${baseUrl()}/chats`);
  await page.waitForURL(`${baseUrl()}/`);
  await expect(page.getByTestId("logout-reason")).toContainText("Your session has expired");
  await snap(page, "11-session-expired");
  await ctx.close();
});

test("inbox on a phone, and no console errors anywhere", async () => {
  await pageB.setViewportSize({ width: 375, height: 812 });
  await pageB.goto(`${baseUrl()}/chats`);
  await expect(pageB.getByTestId("chat-item")).toHaveCount(2);
  await snap(pageB, "12-inbox");
  await pageB.goto(chatUrl);
  await expect(pageB.getByRole("link", { name: "Back to chats" })).toBeVisible();
  await pageB.setViewportSize({ width: 1280, height: 800 });

  const unexpected = consoles.flatMap((c) => c.errors).filter((line) => !EXPECTED_CONSOLE.some((re) => re.test(line)));
  expect(unexpected).toEqual([]);
});
