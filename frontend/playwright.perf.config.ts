import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

/**
 * The performance run (`npm run perf`), not part of `npm run e2e`: `e2e/perf/global-setup.ts`
 * seeds a chat of 10,000 messages and an inbox of 500 chats, then starts the same servers as the
 * browser suite; `e2e/perf/scale.perf.ts` measures in Debian's Chromium and prints the figures.
 * PERF_MESSAGES / PERF_CHATS / PERF_SCROLL_MESSAGES change the sizes.
 */
export default defineConfig({
  ...base,
  testDir: "e2e/perf",
  testMatch: /.*\.perf\.ts$/,
  timeout: 600_000,
  globalSetup: "./e2e/perf/global-setup.ts",
  outputDir: "test-results-perf",
});
