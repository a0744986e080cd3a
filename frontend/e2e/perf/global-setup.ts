/**
 * The performance run's servers: a standalone embedded DynamoDB (python -m apps.core.embedded_dynamo)
 * seeded by scripts/perf_seed.py (a chat of PERF_MESSAGES messages, an inbox of PERF_CHATS chats),
 * then the browser suite's own setup (e2e/global-setup.ts) pointed at it. The seed's account and
 * chat go to e2e/.state/perf-seed.json for the spec.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import e2eSetup from "../global-setup";
import { freePort } from "../support";

const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const REPO = resolve(FRONTEND, "..");
export const SEED_FILE = join(FRONTEND, "e2e", ".state", "perf-seed.json");

async function answering(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`nothing answers at ${url}`);
}

export default async function perfSetup(): Promise<() => Promise<void>> {
  const python = resolve(FRONTEND, process.env.COMMONALITY_PYTHON || "../.venv/bin/python");
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const dynamo = spawn(python, ["-m", "apps.core.embedded_dynamo", "-H", "127.0.0.1", "-p", String(port)], {
    cwd: REPO,
    stdio: "ignore",
    detached: true,
  });
  const stop = () => {
    if (dynamo.exitCode === null && dynamo.pid) {
      try {
        process.kill(-dynamo.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  };
  process.on("exit", stop);
  await answering(endpoint);
  const messages = process.env.PERF_MESSAGES || "10000";
  const chats = process.env.PERF_CHATS || "500";
  const started = Date.now();
  const seeded = spawnSync(python, [join(FRONTEND, "scripts", "perf_seed.py"), "--messages", messages, "--chats", chats], {
    cwd: REPO,
    env: { ...process.env, DYNAMODB_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: "embedded", AWS_SECRET_ACCESS_KEY: "embedded", ENVIRONMENT: "development" },
    encoding: "utf8",
  });
  if (seeded.status !== 0) {
    stop();
    throw new Error(`perf_seed.py failed: ${seeded.stderr}`);
  }
  const line = seeded.stdout.trim().split("\n").pop() ?? "";
  mkdirSync(dirname(SEED_FILE), { recursive: true });
  writeFileSync(SEED_FILE, line);
  console.log(`[perf] seeded ${messages} messages and ${chats} chats in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  process.env.E2E_DYNAMODB_ENDPOINT = endpoint;
  const teardown = await e2eSetup();
  return async () => {
    await teardown();
    stop();
  };
}
