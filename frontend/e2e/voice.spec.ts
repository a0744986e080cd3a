/**
 * Voice in two real browsers with a fake microphone: Ava speaks English, Beto Spanish.
 *
 * Chromium's fake capture device plays e2e/.state/speech.wav (espeak-ng, made by the global
 * setup) into getUserMedia, so MediaRecorder records real Opus/WebM audio that goes over the
 * chat socket to the real backend, which sends it to the loopback fake ElevenLabs
 * (transcribed as "Hello from the fake transcriber"), the fake translator ("[es] ...") and back
 * as synthesized speech (MP3 frames, whose first line names the text and language spoken).
 * No LiveKit server exists here: the backend answers the token request with 503.
 */
import { expect, test, type BrowserContext, type Locator, type Page } from "@playwright/test";
import { CHROMIUM, CHROMIUM_ARGS } from "../playwright.config";
import { expectConnected, freePort, messagesWithText, newContext, person, SCREENSHOTS, signUpInBrowser, snap, SPEECH_WAV, watchConsole } from "./support";

test.use({
  launchOptions: {
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${SPEECH_WAV}`],
  },
});

const ava = person("ava", "Ava", "en");
const beto = person("beto", "Beto", "es");
const HEARD = "Hello from the fake transcriber"; // what the fake transcriber hears in any recording

/** Console errors the browser itself prints for failures these tests cause on purpose. */
const EXPECTED_CONSOLE = [
  /Failed to load resource: the server responded with a status of 503/, // no LiveKit keys
  /WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/rtc.* failed/, // the unreachable LiveKit server
  /Failed to load resource: net::ERR_CONNECTION_REFUSED/, // ... and its HTTP check
];

test.describe.configure({ mode: "serial" });

let ctxA: BrowserContext;
let ctxB: BrowserContext;
let pageA: Page;
let pageB: Page;
let chatPath = "";
const consoles: Array<{ errors: string[] }> = [];

test.beforeAll(async ({ browser }) => {
  ctxA = await newContext(browser);
  ctxB = await newContext(browser);
  pageA = await ctxA.newPage();
  pageB = await ctxB.newPage();
  // Uncaught exceptions and unhandled rejections count too (watchConsole records page errors).
  consoles.push(watchConsole(pageA, "ava"), watchConsole(pageB, "beto"));
});

test.afterAll(async () => {
  await ctxA?.close();
  await ctxB?.close();
});

const ptt = (page: Page) => page.getByTestId("ptt-button");
const turnState = (page: Page) => page.getByTestId("turn-state");
const panel = (page: Page) => page.getByTestId("call-panel");

async function audioBytes(page: Page): Promise<number> {
  return Number(await panel(page).getAttribute("data-audio-bytes"));
}

/** Hold a button with the mouse for `ms`. */
async function hold(page: Page, button: Locator, ms: number, during?: () => Promise<void>): Promise<void> {
  await button.hover();
  await page.mouse.down();
  const started = Date.now();
  if (during) await during();
  await page.waitForTimeout(Math.max(0, ms - (Date.now() - started)));
  await page.mouse.up();
}

/** The first bytes of a blob: URL, read inside the page that made it. */
async function blobHead(page: Page, url: string): Promise<{ size: number; head: string }> {
  return page.evaluate(async (src) => {
    const bytes = new Uint8Array(await (await fetch(src)).arrayBuffer());
    return { size: bytes.length, head: new TextDecoder().decode(bytes.slice(0, 160)) };
  }, url);
}

test("two people sign up and start a chat", async () => {
  await signUpInBrowser(pageA, ava);
  await signUpInBrowser(pageB, beto);
  await pageA.getByRole("button", { name: "New chat" }).click();
  await pageA.getByLabel("Their username").fill(beto.username);
  await pageA.getByRole("button", { name: "Start chat" }).click();
  await pageA.waitForURL(/\/chats\/[0-9a-f]+$/);
  chatPath = new URL(pageA.url()).pathname;
  await expect(pageB.getByTestId("chat-item")).toHaveCount(1);
  await expectConnected(pageA);
  await expectConnected(pageB);
});

test("Ava calls; Beto's inbox rings; he accepts", async () => {
  await pageA.getByRole("button", { name: "Start a voice call" }).click();
  await pageA.waitForURL(new RegExp(`${chatPath}/call$`));
  await expect(pageA.getByTestId("call-state")).toHaveText("Calling…");
  await expect(pageA.getByRole("button", { name: "Cancel call" })).toBeVisible();
  await expect(ptt(pageA)).toBeDisabled();
  await expect(turnState(pageA)).toHaveText("Push-to-talk works once the call is answered.");
  await snap(pageA, "13-call-calling");

  // Beto is on his inbox: the call rings there, with Accept and Decline
  const ring = pageB.getByTestId("incoming-call");
  await expect(ring).toContainText("Ava Tester is calling…");
  await expect(ring.getByRole("button", { name: "Decline" })).toBeVisible();
  await snap(pageB, "14-incoming-call");
  await ring.getByRole("button", { name: "Accept" }).click();
  await pageB.waitForURL(new RegExp(`${chatPath}/call$`));

  for (const page of [pageA, pageB]) {
    await expect(page.getByTestId("call-state")).toHaveText(/^In call · \d+:\d\d$/);
    await expect(page.getByTestId("call-person")).toHaveCount(2);
    await expect(page.getByTestId("call-person").filter({ hasText: "(you)" })).toHaveAttribute("data-state", "In the call");
    await expect(ptt(page)).toBeEnabled();
    await expect(ptt(page)).not.toHaveAttribute("aria-disabled", "true");
    await expect(turnState(page)).toHaveText("Hold the button to talk");
    // No LiveKit server here: the page says so, and push-to-talk works anyway
    await expect(page.getByTestId("call-status")).toContainText("Voice calls are not configured on this server");
    await expect(page.getByTestId("call-status")).toContainText("Push-to-talk still works");
  }
  await expect(pageB.getByTestId("incoming-call")).toHaveCount(0);
  await snap(pageB, "15-call-in-progress");
});

test("Ava holds push-to-talk; Beto sees her speak, then reads and hears the Spanish", async () => {
  await hold(pageA, ptt(pageA), 2200, async () => {
    await expect(ptt(pageA)).toHaveAttribute("aria-pressed", "true");
    await expect(turnState(pageA)).toHaveText("You're speaking… release to send");
    // one speaker at a time: Beto's button is locked and says who holds the turn
    await expect(turnState(pageB)).toHaveText("Ava is speaking…");
    await expect(ptt(pageB)).toHaveAttribute("aria-disabled", "true");
    await expect(ptt(pageB)).toBeDisabled();
    await pageA.screenshot({ path: `${SCREENSHOTS}/16-ptt-speaking.desktop.png` });
    await pageB.screenshot({ path: `${SCREENSHOTS}/16-ptt-listening.desktop.png` });
  });

  // Ava's recording went out over the socket while she spoke (about 2 s of Opus)
  await expect.poll(async () => Number(await ptt(pageA).getAttribute("data-sent-bytes"))).toBeGreaterThan(4000);

  // Both see the original and the translation
  for (const page of [pageA, pageB]) {
    const turn = page.getByTestId("turn-transcript").first();
    await expect(turn.getByTestId("turn-original")).toHaveText(HEARD);
    await expect(turn.getByTestId("turn-translation")).toContainText(`[es] ${HEARD}`);
  }
  await expect(pageB.getByTestId("turn-transcript").first()).toContainText("Ava said, in English:");
  await expect(pageB.getByTestId("turn-transcript").first().getByTestId("turn-translation")).toContainText("In your language (Spanish):");
  // the stored turn is read on the call page, so the inbox counts nothing unread
  await expect(pageB.getByTestId("chat-item").first()).toContainText(`[es] ${HEARD}`);
  await expect(pageB.getByTestId("unread-badge")).toHaveCount(0);

  // Only the listener receives speech: Beto's browser got the whole turn and played it to the end
  await expect(panel(pageB)).toHaveAttribute("data-audio-turns", "1");
  await expect(pageB.getByTestId("voice-audio")).toHaveAttribute("data-played", "1", { timeout: 20_000 });
  // ...streamed: chunks were appended to a MediaSource as they came, not kept for the end
  await expect(pageB.getByTestId("voice-audio")).toHaveAttribute("data-mode", "stream");
  expect(await audioBytes(pageB)).toBeGreaterThanOrEqual(24_000);
  expect(Number(await panel(pageB).getAttribute("data-audio-chunks"))).toBeGreaterThanOrEqual(2);
  expect(await audioBytes(pageA)).toBe(0);
  await expect(pageA.getByTestId("voice-audio")).toHaveAttribute("data-played", "0");

  // What Beto heard is the Spanish translation, synthesized in Spanish
  const replay = pageB.getByTestId("replay");
  await expect(replay).toHaveCount(1);
  await expect(pageA.getByTestId("replay")).toHaveCount(0);
  const heard = await blobHead(pageB, (await replay.getAttribute("data-src")) as string);
  expect(heard.head.startsWith("FAKEMP3 ")).toBe(true);
  expect(heard.head).toContain(`"language": "es"`);
  expect(heard.head).toContain(`"text": "[es] ${HEARD}"`);
  expect(heard.size).toBe(await audioBytes(pageB));

  // Back to idle for both, and it can be heard again
  await expect(turnState(pageA)).toHaveAttribute("data-state", "idle");
  await expect(turnState(pageB)).toHaveAttribute("data-state", "idle");
  await replay.click();
  await expect(pageB.getByTestId("voice-audio")).toHaveAttribute("data-played", "2", { timeout: 20_000 });
  await snap(pageB, "17-ptt-translated-listener");
  await snap(pageA, "17-ptt-translated-speaker");
});

test("Beto answers with the keyboard (Space held); Escape cancels a turn", async () => {
  await ptt(pageB).focus();
  await pageB.keyboard.down("Space");
  await expect(turnState(pageA)).toHaveText("Beto is speaking…");
  await pageB.waitForTimeout(1800);
  await pageB.keyboard.up("Space");

  const turn = pageA.getByTestId("turn-transcript").first();
  await expect(turn).toContainText("Beto said, in Spanish:");
  await expect(turn.getByTestId("turn-translation")).toContainText(`[en] ${HEARD}`);
  await expect(pageA.getByTestId("voice-audio")).toHaveAttribute("data-played", "1", { timeout: 20_000 });
  await expect(panel(pageA)).toHaveAttribute("data-audio-turns", "1");
  await expect(panel(pageB)).toHaveAttribute("data-audio-turns", "1"); // still only Ava's turn
  await expect(turnState(pageB)).toHaveAttribute("data-state", "idle");

  // Escape while recording: everyone back to idle, nothing translated
  await ptt(pageA).focus();
  await pageA.keyboard.down("Space");
  await expect(turnState(pageB)).toHaveText("Ava is speaking…");
  await pageA.keyboard.press("Escape");
  await pageA.keyboard.up("Space");
  await expect(turnState(pageB)).toHaveText("Ava cancelled. Hold the button to talk.");
  await expect(turnState(pageA)).toHaveText("You cancelled. Hold the button to talk.");
  await expect(pageA.getByTestId("turn-transcript")).toHaveCount(2);
  // nothing went wrong on the way: no error toasts on either side
  await pageA.waitForTimeout(500);
  await expect(pageA.locator(".toast")).toHaveCount(0);
  await expect(pageB.locator(".toast")).toHaveCount(0);
});

test("live audio: a LiveKit server that can't be reached is said in words", async () => {
  // A token that points at a closed loopback port: livekit-client really tries, and fails.
  const port = await freePort();
  await pageA.route("**/api/voice/token", (route) =>
    route.fulfill({
      status: 200,
      contentType: "application/json",
      body: JSON.stringify({ token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.e2e", room_name: "chat-e2e", url: `ws://127.0.0.1:${port}` }),
    }),
  );
  // Leave the call page and come back within the app (the socket, and so the call, stay)
  await pageA.getByRole("link", { name: "Back to the chat" }).first().click();
  await pageA.waitForURL(new RegExp(`${chatPath}$`));
  await expect(pageA.getByTestId("call-strip")).toContainText("In call");
  await pageA.getByRole("link", { name: "Open the call" }).click();
  await pageA.waitForURL(new RegExp(`${chatPath}/call$`));
  const status = pageA.getByTestId("call-status");
  await expect(status).toHaveAttribute("data-state", "failed", { timeout: 30_000 });
  await expect(status).toHaveText(/Couldn't reach the live audio server\. Push-to-talk still works\./);
  await expect(status.getByRole("button", { name: "Try again" })).toBeVisible();
  await snap(pageA, "18-live-audio-unreachable");
  await pageA.unroute("**/api/voice/token");
  await expect(ptt(pageA)).toBeEnabled();
});

test("hang up: the call ends for both and is in the history in each language", async () => {
  await pageA.getByRole("button", { name: "Hang up" }).click();
  await expect(pageA.getByTestId("call-state")).toHaveText(/^Call ended · \d+:\d\d$/);
  await expect(pageB.getByTestId("call-state")).toHaveText(/^Call ended · \d+:\d\d$/);
  await expect(ptt(pageB)).toBeDisabled();

  await pageA.getByRole("link", { name: "Back to the chat" }).first().click();
  await pageB.getByRole("link", { name: "Back to the chat" }).first().click();
  await expect(pageA.getByTestId("call-record").last()).toHaveAttribute("data-outcome", "ended");
  await expect(pageA.getByTestId("call-record").last()).toContainText(/Call ended · \d+:\d\d/);
  await expect(pageB.getByTestId("call-record").last()).toContainText(/Llamada finalizada · \d+:\d\d/);
  // each spoken turn is a message too, in the reader's language
  await expect(pageB.locator('[data-kind="voice"]')).toHaveCount(2);
  await expect(messagesWithText(pageB, `[es] ${HEARD}`)).toHaveCount(1);
  await expect(messagesWithText(pageA, `[en] ${HEARD}`)).toHaveCount(1);
  await snap(pageB, "19-call-in-history");
});

test("a voice note: recorded by holding the microphone, read and heard in Spanish", async () => {
  const mic = pageA.getByTestId("voice-note-button");
  await hold(pageA, mic, 2000, async () => {
    await expect(pageA.getByTestId("voice-note-status")).toContainText("Recording");
    await expect(mic).toHaveAttribute("aria-pressed", "true");
  });
  const mine = pageA.locator('[data-kind="voice_note"]');
  await expect(mine).toHaveCount(1);
  await expect(mine.getByTestId("message-text")).toHaveText(HEARD);
  await expect(mine).toContainText("Voice note");

  const note = pageB.locator('[data-kind="voice_note"]');
  await expect(note.getByTestId("message-text")).toHaveText(`[es] ${HEARD}`);
  await note.getByTestId("toggle-original").click();
  await expect(note.getByTestId("message-text")).toHaveText(HEARD);
  await note.getByTestId("toggle-original").click();

  // Listen: fetched with the bearer header as a Blob, in Beto's language, and played to the end
  const listen = note.getByTestId("play-voice");
  await expect(listen).toHaveAccessibleName("Listen in Spanish");
  await listen.click();
  await expect(listen).toHaveAttribute("data-state", "playing");
  await expect(listen).toHaveAttribute("data-state", "idle", { timeout: 20_000 });
  expect(Number(await listen.getAttribute("data-bytes"))).toBeGreaterThanOrEqual(24_000);
  await snap(pageB, "20-voice-note");

  // A quick tap keeps recording until the next tap (for people who can't hold a button)
  await mic.click();
  await expect(pageA.getByTestId("voice-note-status")).toContainText("tap the microphone to send");
  await pageA.waitForTimeout(1200);
  await expect(pageA.getByTestId("voice-note-status")).toContainText(/Recording 0:0[1-9]/);
  await mic.click();
  await expect(mine).toHaveCount(2);
  await expect(note).toHaveCount(2);
});

test("declined, cancelled and missed calls", async () => {
  // Beto calls from the conversation; Ava, on her inbox, declines
  await pageA.goto(`${new URL(pageA.url()).origin}/chats`);
  await expectConnected(pageA);
  await pageB.getByRole("button", { name: "Start a voice call" }).click();
  await pageB.waitForURL(/\/call$/);
  await pageA.getByTestId("incoming-call").getByRole("button", { name: "Decline" }).click();
  await expect(pageB.getByTestId("call-state")).toHaveText("Call declined");
  await expect(pageA.getByTestId("incoming-call")).toHaveCount(0);

  // Ava calls and cancels while it rings
  await pageA.goto(`${new URL(pageA.url()).origin}${chatPath}`);
  await expectConnected(pageA);
  await pageB.getByRole("link", { name: "Back to the chat" }).first().click();
  await pageA.getByRole("button", { name: "Start a voice call" }).click();
  await expect(pageB.getByTestId("incoming-call")).toContainText("Ava Tester is calling…");
  await pageA.getByRole("button", { name: "Cancel call" }).click();
  await expect(pageA.getByTestId("call-state")).toHaveText("Call cancelled");
  await expect(pageB.getByTestId("incoming-call")).toHaveCount(0);

  // Ava calls again and nobody answers: missed (the e2e backend rings for 12 s)
  await pageA.getByRole("button", { name: "Call again" }).click();
  await expect(pageB.getByTestId("incoming-call")).toBeVisible();
  await expect(pageA.getByTestId("call-state")).toHaveText("No answer", { timeout: 30_000 });
  await expect(pageB.getByTestId("incoming-call")).toHaveCount(0);

  await pageA.getByRole("link", { name: "Back to the chat" }).first().click();
  const outcomes = async (page: Page) => page.getByTestId("call-record").evaluateAll((els) => els.map((e) => e.getAttribute("data-outcome")));
  await expect.poll(() => outcomes(pageA)).toEqual(["ended", "declined", "cancelled", "missed"]);
  await expect.poll(() => outcomes(pageB)).toEqual(["ended", "declined", "cancelled", "missed"]);
  await expect(pageB.getByTestId("call-record").last()).toContainText("Llamada perdida");
  await expect(pageA.getByTestId("call-record").last()).toContainText("Missed call");
  await snap(pageB, "21-calls-in-history");
});

test("the call page at phone width, and no console errors anywhere", async () => {
  await pageB.goto(`${new URL(pageB.url()).origin}${chatPath}/call`);
  await pageB.setViewportSize({ width: 375, height: 812 });
  await expect(pageB.getByRole("button", { name: "Call again" }).or(pageB.getByRole("button", { name: "Start call" }))).toBeVisible();
  await expect(ptt(pageB)).toBeVisible();
  const box = await ptt(pageB).boundingBox();
  expect(box && box.x >= 0 && box.x + box.width <= 375).toBe(true);
  await snap(pageB, "22-call-page");
  await pageB.setViewportSize({ width: 1280, height: 800 });

  const unexpected = consoles.flatMap((c) => c.errors).filter((line) => !EXPECTED_CONSOLE.some((re) => re.test(line)));
  expect(unexpected).toEqual([]);
});
