/**
 * The front end at scale, measured in Chromium (npm run perf; not part of npm run e2e).
 * Prints, for an inbox of PERF_CHATS chats and a chat of PERF_MESSAGES messages:
 *   - time to first chat / first message painted (navigation start → the frame after the first
 *     row is in the document),
 *   - long tasks (> 50 ms, PerformanceObserver "longtask") and the longest frame while scrolling,
 *   - JS heap (CDP, after a forced GC) and DOM nodes after scrolling up through
 *     PERF_SCROLL_MESSAGES (2,000) messages of history,
 *   - the first-load JS of each route (the build's client chunks for it, raw and gzipped).
 * The figures also go to e2e/.state/perf-result.json.
 */
import { expect, test, type Page } from "@playwright/test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { loadavg } from "node:os";
import { baseUrl, expectConnected, newContext } from "../support";

const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SEED_FILE = join(FRONTEND, "e2e", ".state", "perf-seed.json");
const SCROLL_MESSAGES = Number(process.env.PERF_SCROLL_MESSAGES || 2000);

interface PerfWindow {
  __perf: { longTasks: { start: number; duration: number }[]; firstMessage: number | null; firstChat: number | null; frames: number[] };
}

/** Runs in every page before its scripts: records long tasks, frame gaps and first rows. */
function instrument(): void {
  const perf = { longTasks: [] as { start: number; duration: number }[], firstMessage: null as number | null, firstChat: null as number | null, frames: [] as number[] };
  (window as unknown as PerfWindow).__perf = perf;
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) perf.longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: "longtask", buffered: true });
  } catch {
    // no long task timing
  }
  const painted = (key: "firstMessage" | "firstChat") => {
    perf[key] = -1;
    requestAnimationFrame(() => setTimeout(() => (perf[key] = performance.now()), 0));
  };
  new MutationObserver(() => {
    if (perf.firstMessage === null && document.querySelector('[data-testid="message"]')) painted("firstMessage");
    if (perf.firstChat === null && document.querySelector('[data-testid="chat-item"]')) painted("firstChat");
  }).observe(document, { childList: true, subtree: true });
  let last = 0;
  const frame = (t: number) => {
    if (last) perf.frames.push(t - last);
    last = t;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

async function resetCounters(page: Page): Promise<void> {
  await page.evaluate(() => {
    const perf = (window as unknown as PerfWindow).__perf;
    perf.longTasks.length = 0;
    perf.frames.length = 0;
  });
}

async function counters(page: Page): Promise<{ longTasks: number; longTaskMs: number; worstTaskMs: number; worstFrameMs: number; framesOver50: number }> {
  return page.evaluate(() => {
    const perf = (window as unknown as PerfWindow).__perf;
    const total = perf.longTasks.reduce((sum, t) => sum + t.duration, 0);
    return {
      longTasks: perf.longTasks.length,
      longTaskMs: Math.round(total),
      worstTaskMs: Math.round(Math.max(0, ...perf.longTasks.map((t) => t.duration))),
      worstFrameMs: Math.round(Math.max(0, ...perf.frames)),
      framesOver50: perf.frames.filter((f) => f > 50).length,
    };
  });
}

async function heapAndNodes(page: Page): Promise<{ heapMB: number; nodes: number }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("HeapProfiler.collectGarbage");
  await cdp.send("Performance.enable");
  const { metrics } = await cdp.send("Performance.getMetrics");
  const of = (name: string) => metrics.find((m) => m.name === name)?.value ?? 0;
  return { heapMB: Math.round((of("JSHeapUsedSize") / 1024 / 1024) * 10) / 10, nodes: of("Nodes") };
}

/** Each route's first-load JS: the client chunks its page's build manifest lists (raw, gzip). */
function routeSizes(): Record<string, { files: number; kB: number; gzipKB: number }> {
  const dist = join(FRONTEND, ".next-e2e");
  const out: Record<string, { files: number; kB: number; gzipKB: number }> = {};
  const appDir = join(dist, "server", "app");
  const manifests: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      const full = join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry === "page_client-reference-manifest.js") manifests.push(full);
    }
  };
  walk(appDir);
  for (const manifest of manifests) {
    const route = "/" + dirname(manifest).slice(appDir.length + 1).replace(/\/?page$/, "").replace(/^\/+/, "");
    const text = readFileSync(manifest, "utf8");
    const files = new Set<string>();
    for (const match of text.matchAll(/"((?:static\/chunks\/)[^"]+?\.js)"/g)) files.add(match[1]);
    const build = JSON.parse(readFileSync(join(dist, "build-manifest.json"), "utf8")) as { rootMainFiles?: string[]; polyfillFiles?: string[] };
    for (const file of build.rootMainFiles ?? []) files.add(file.replace(/^\/?_next\//, ""));
    let raw = 0;
    let gz = 0;
    for (const file of files) {
      const path = join(dist, file.replace(/^\/?_next\//, ""));
      if (!existsSync(path)) continue;
      const body = readFileSync(path);
      raw += body.length;
      gz += gzipSync(body).length;
    }
    out[route] = { files: files.size, kB: Math.round(raw / 102.4) / 10, gzipKB: Math.round(gz / 102.4) / 10 };
  }
  return out;
}

test("a chat of 10,000 messages and an inbox of 500 chats", async ({ browser }) => {
  const seed = JSON.parse(readFileSync(SEED_FILE, "utf8")) as { username: string; password: string; big_chat_id: string; chats: number; messages: number };
  const context = await newContext(browser);
  await context.addInitScript(instrument);
  const page = await context.newPage();
  const result: Record<string, unknown> = { load_average: loadavg().map((l) => Math.round(l * 100) / 100), seed: { chats: seed.chats, messages: seed.messages } };

  await page.goto(`${baseUrl()}/`);
  await page.getByLabel("Username").fill(seed.username);
  await page.getByLabel("Password").fill(seed.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/chats$/);

  // The inbox, loaded afresh.
  await page.goto(`${baseUrl()}/chats`);
  await expect(page.getByTestId("chat-item").first()).toBeVisible({ timeout: 60_000 });
  await expect.poll(() => page.evaluate(() => (window as unknown as PerfWindow).__perf.firstChat ?? -1)).toBeGreaterThan(0);
  const firstChat = await page.evaluate(() => (window as unknown as PerfWindow).__perf.firstChat ?? -1);
  await expectConnected(page);
  await page.waitForTimeout(1000);
  const inboxLoad = await counters(page);
  await resetCounters(page);
  const list = page.locator(".chat-list-wrap");
  for (let i = 0; i < 200; i++) {
    const done = await list.evaluate((el) => {
      el.scrollTop += 400;
      return el.scrollTop + el.clientHeight >= el.scrollHeight - 2;
    });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    if (done) break;
  }
  await expect(page.getByRole("link", { name: /Group 1\b/ })).toBeVisible();
  const inboxScroll = await counters(page);
  result.inbox = { first_chat_painted_ms: Math.round(firstChat), load: inboxLoad, scroll_to_end: inboxScroll, ...(await heapAndNodes(page)) };

  // The big chat, opened afresh.
  let fetched = 0;
  page.on("response", async (response) => {
    if (/\/api\/chats\/[^/]+\/messages/.test(response.url()) && response.request().method() === "GET") {
      try {
        const body = (await response.json()) as { messages?: unknown[] };
        fetched += body.messages?.length ?? 0;
      } catch {
        // not JSON
      }
    }
  });
  await page.goto(`${baseUrl()}/chats/${seed.big_chat_id}`);
  await expect(page.getByTestId("message").first()).toBeVisible({ timeout: 60_000 });
  await expect.poll(() => page.evaluate(() => (window as unknown as PerfWindow).__perf.firstMessage ?? -1)).toBeGreaterThan(0);
  const firstMessage = await page.evaluate(() => (window as unknown as PerfWindow).__perf.firstMessage ?? -1);
  await expectConnected(page);
  await page.waitForTimeout(1000);
  const chatLoad = await counters(page);
  const atOpen = await heapAndNodes(page);
  await resetCounters(page);
  const messages = page.getByTestId("messages");
  const started = Date.now();
  while (fetched < SCROLL_MESSAGES && Date.now() - started < 300_000) {
    await messages.evaluate((el) => {
      el.scrollTop -= 600;
    });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  }
  const scrolledMs = Date.now() - started;
  const scrollUp = await counters(page);
  // Scroll anchoring: at the top, an older page comes in above what is on screen, which stays put.
  await page.waitForTimeout(1500);
  const olderPage = page.waitForResponse((r) => /\/api\/chats\/[^/]+\/messages/.test(r.url()) && r.request().method() === "GET", { timeout: 30_000 });
  // (the page is held back a moment, so the row on top is taken before it arrives)
  const history = /\/api\/chats\/[^/]+\/messages/;
  await page.route(history, async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue().catch(() => undefined); // already let through by unroute
  });
  await messages.evaluate((el) => {
    el.scrollTop = 0;
  });
  await page.waitForTimeout(500);
  const held = await messages.evaluate((el) => {
    const top = el.getBoundingClientRect().top;
    const row = [...el.querySelectorAll<HTMLElement>('[data-testid="message"]')].find((r) => r.getBoundingClientRect().bottom > top);
    return row ? { id: row.dataset.messageId ?? null, top: row.getBoundingClientRect().top - top } : null;
  });
  await olderPage;
  await page.waitForTimeout(500);
  await page.unroute(history).catch(() => undefined);
  const heldAfter = held
    ? await messages.evaluate((el, id: string | null) => {
        const row = [...el.querySelectorAll<HTMLElement>('[data-testid="message"]')].find((r) => r.dataset.messageId === id);
        return row ? row.getBoundingClientRect().top - el.getBoundingClientRect().top : null;
      }, held.id)
    : null;
  const anchorShiftPx = held && heldAfter !== null ? Math.round(heldAfter - held.top) : null;
  // and scroll down again through what was loaded
  await resetCounters(page);
  for (let i = 0; i < 100; i++) {
    await messages.evaluate((el) => {
      el.scrollTop += 600;
    });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  }
  const scrollDown = await counters(page);
  const after = await heapAndNodes(page);
  result.conversation = {
    first_message_painted_ms: Math.round(firstMessage),
    load: chatLoad,
    at_open: atOpen,
    messages_fetched: fetched,
    scroll_up_seconds: Math.round(scrolledMs / 100) / 10,
    scroll_up: scrollUp,
    older_page_shift_px: anchorShiftPx,
    scroll_down_100_steps: scrollDown,
    after_scrolling: after,
  };
  result.first_load_js = routeSizes();
  result.load_average_end = loadavg().map((l) => Math.round(l * 100) / 100);
  writeFileSync(join(FRONTEND, "e2e", ".state", "perf-result.json"), JSON.stringify(result, null, 2));
  console.log(`[perf] ${JSON.stringify(result, null, 2)}`);
  expect(fetched).toBeGreaterThanOrEqual(SCROLL_MESSAGES);
  expect(Math.abs(anchorShiftPx ?? 99), "what was on screen stays put when an older page comes in").toBeLessThan(4);
  await context.close();
});
