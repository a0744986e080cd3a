import { defineConfig } from "@playwright/test";

/**
 * The browser suite. `e2e/global-setup.ts` starts the real backend (embedded DynamoDB),
 * the loopback fake translator and the built front end on free ports; the tests drive
 * Debian's Chromium (no browser download).
 */
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export default defineConfig({
  testDir: "e2e",
  testMatch: /.*\.spec\.ts$/,
  timeout: 180_000,
  expect: { timeout: 15_000 },
  // Spec files run three at a time, each file's tests in order on one worker (voice.spec.ts's
  // steps build on each other). Every spec signs up people of its own, so two files never
  // share a chat; the backend's sign-up, login and message limits are raised for the suite.
  // Most of a test is waiting (live delivery, rings, speech), so on 2 cores a third worker
  // took the suite from 4.4 to 3.8 minutes.
  fullyParallel: false,
  workers: Number(process.env.E2E_WORKERS || 3),
  retries: 0,
  reporter: [["list"]],
  globalSetup: "./e2e/global-setup.ts",
  outputDir: "test-results",
  use: {
    browserName: "chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
    },
  },
});
