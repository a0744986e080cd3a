/**
 * Starts what the browser suite talks to, each on a free loopback port:
 *   1. the loopback fake translator (python -m tests.support.fake_openai), which "translates"
 *      T into "[<lang>] T", streaming one word at a time, and the loopback fake ElevenLabs
 *      (python -m tests.support.fake_elevenlabs --playable-audio), which transcribes any
 *      recording as "Hello from the fake transcriber" and synthesizes speech a browser can
 *      play, whose first line names the text and language it says;
 *   2. the real backend (manage.py runserver = Daphne) on embedded DynamoDB and the in-memory
 *      channel layer, pointed at both fakes (no LiveKit keys: the token endpoint answers 503);
 *   3. the front end, built with NEXT_PUBLIC_API_URL pointing at that backend (into
 *      .next-e2e, reused while sources and the URL are unchanged), served by the standalone
 *      server.
 * It also speaks a sentence into e2e/.state/speech.wav with espeak-ng: the voice tests' fake
 * microphone (Chromium's --use-file-for-fake-audio-capture).
 * Tests read E2E_BASE_URL / E2E_API_URL. Everything stops when the run ends.
 *
 * COMMONALITY_PYTHON picks the backend's Python (default ../.venv/bin/python).
 * E2E_DYNAMODB_ENDPOINT: a DynamoDB endpoint to use instead of the embedded one (the performance
 * run, e2e-perf/, seeds one first).
 * E2E_BASE_URL + E2E_API_URL already set: use those servers instead of starting any.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, SPEECH_WAV, SPOKEN_SENTENCE } from "./support";

const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPO = resolve(FRONTEND, "..");
const STATE = join(FRONTEND, "e2e", ".state");

const DIST = ".next-e2e";
const PREFERRED_BACKEND_PORT = 18_765;

function log(message: string): void {
  console.log(`[e2e] ${message}`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
  });
}

const children: ChildProcess[] = [];

function start(name: string, command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): ChildProcess {
  mkdirSync(STATE, { recursive: true });
  const out = createWriteStream(join(STATE, `${name}.log`));
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  children.push(child);
  return child;
}

function stopAll(): void {
  for (const child of children.reverse()) {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  }
}

async function waitFor(url: string, what: string, child: ChildProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited early (code ${child.exitCode}); see e2e/.state/*.log`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not answer at ${url} within ${timeoutMs / 1000}s; see e2e/.state/*.log`);
}

function listeningUrl(child: ChildProcess, what: string): Promise<string> {
  return new Promise((done, fail) => {
    let buffer = "";
    const timer = setTimeout(() => fail(new Error(`${what} did not start`)), 30_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = buffer.match(/listening on (\S+)/);
      if (match) {
        clearTimeout(timer);
        done(match[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`${what} exited (code ${code})`));
    });
  });
}

/** The fake microphone's recording: a sentence spoken by espeak-ng (apt-get install espeak-ng). */
function speechWav(): void {
  mkdirSync(STATE, { recursive: true });
  const result = spawnSync("espeak-ng", ["-v", "en", "-s", "150", "-w", SPEECH_WAV, SPOKEN_SENTENCE], { encoding: "utf8" });
  if (result.error || result.status !== 0 || !existsSync(SPEECH_WAV) || statSync(SPEECH_WAV).size < 10_000) {
    throw new Error(
      `espeak-ng could not make the fake microphone's speech (${result.error?.message ?? result.stderr ?? result.status}); ` +
        "install it (Debian/Ubuntu: apt-get install espeak-ng) or run python3 scripts/frontend.py, which does",
    );
  }
  log(`fake microphone speech: ${SPEECH_WAV} (${statSync(SPEECH_WAV).size} bytes)`);
}

/**
 * A proxy in front of the fake translator that fails the first request for any text holding
 * FLAKY_MARKER (HTTP 503), then lets the backend's retry through: a message is delivered
 * untranslated first and its translation follows as `message_updated`.
 */
export const FLAKY_MARKER = "(flaky)";

function flakyProxy(target: string): Promise<string> {
  const upstream = new URL(target);
  const failed = new Set<string>();
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const text = body.toString("utf8");
      const key = text.match(/"content":\s*"([^"]*\(flaky\)[^"]*)"/)?.[1];
      if (key && !failed.has(key)) {
        failed.add(key);
        res.writeHead(503, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ error: { message: "overloaded (e2e)", type: "server_error" } }));
        return;
      }
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on("error", () => {
        res.writeHead(502);
        res.end();
      });
      forward.end(body);
    });
  });
  server.unref();
  return new Promise((done) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      done(`http://127.0.0.1:${port}${upstream.pathname}`);
    });
  });
}

/** A digest of everything that goes into the build, plus the baked-in settings. */
function buildDigest(apiUrl: string): string {
  const hash = createHash("sha256");
  hash.update(apiUrl);
  const walk = (path: string) => {
    for (const entry of readdirSync(path).sort()) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full);
      else hash.update(full).update(readFileSync(full));
    }
  };
  walk(join(FRONTEND, "src"));
  for (const file of ["next.config.ts", "package-lock.json", "tsconfig.json"]) hash.update(readFileSync(join(FRONTEND, file)));
  return hash.digest("hex");
}

function build(apiUrl: string): void {
  const stamp = join(FRONTEND, DIST, "e2e-build.sha256");
  const digest = buildDigest(apiUrl);
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === digest && existsSync(join(FRONTEND, DIST, "standalone", "server.js"))) {
    log("front end build is up to date");
    return;
  }
  log(`building the front end for ${apiUrl}`);
  const started = Date.now();
  const result = spawnSync(process.execPath, [join(FRONTEND, "node_modules", "next", "dist", "bin", "next"), "build"], {
    cwd: FRONTEND,
    env: {
      ...process.env,
      NEXT_DIST_DIR: DIST,
      NEXT_PUBLIC_API_URL: apiUrl,
      NEXT_PUBLIC_WS_URL: "",
      NEXT_TELEMETRY_DISABLED: "1",
    },
    encoding: "utf8",
  });
  if (result.status !== 0) {
    console.error(result.stdout, result.stderr);
    throw new Error("next build failed");
  }
  writeFileSync(stamp, digest);
  log(`built in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (process.env.E2E_BASE_URL && process.env.E2E_API_URL) {
    log(`using running servers: ${process.env.E2E_BASE_URL} → ${process.env.E2E_API_URL}`);
    return async () => undefined;
  }
  const python = resolve(FRONTEND, process.env.COMMONALITY_PYTHON || "../.venv/bin/python");
  if (!existsSync(python)) throw new Error(`No Python at ${python}; set COMMONALITY_PYTHON`);
  process.on("exit", stopAll);

  try {
    // 1. fake translator: a little delay per word, so translations visibly stream in
    const translator = start("translator", python, ["-m", "tests.support.fake_openai", "--port", "0", "--token-delay", "0.12"], {
      cwd: REPO,
      env: { ...process.env, PYTHONUNBUFFERED: "1" },
    });
    const openaiUrl = await flakyProxy(await listeningUrl(translator, "fake translator"));
    log(`fake translator at ${openaiUrl} (through the flaky proxy)`);
    // 1b. fake ElevenLabs: a little delay, and speech streamed in a few chunks, as the real one does
    const speech = start(
      "elevenlabs",
      python,
      [
        "-m", "tests.support.fake_elevenlabs", "--port", "0", "--playable-audio",
        "--stt-delay", "0.2", "--tts-delay", "0.15", "--tts-chunks", "5", "--tts-chunk-delay", "0.1", "--tts-bytes", "24000",
      ],
      { cwd: REPO, env: { ...process.env, PYTHONUNBUFFERED: "1" } },
    );
    const elevenLabsUrl = await listeningUrl(speech, "fake ElevenLabs");
    log(`fake ElevenLabs at ${elevenLabsUrl}`);
    speechWav();

    // 2. backend (a stable port when free, so the front end build can be reused)
    const backendPort = (await portFree(PREFERRED_BACKEND_PORT)) ? PREFERRED_BACKEND_PORT : await freePort();
    const frontendPort = await freePort();
    const apiUrl = `http://127.0.0.1:${backendPort}`;
    const baseUrl = `http://127.0.0.1:${frontendPort}`;
    const backend = start("backend", python, ["manage.py", "runserver", `127.0.0.1:${backendPort}`, "--noreload"], {
      cwd: REPO,
      env: {
        ...process.env,
        ENVIRONMENT: "development",
        DYNAMODB_ENDPOINT: process.env.E2E_DYNAMODB_ENDPOINT || "embedded",
        ...(process.env.E2E_DYNAMODB_ENDPOINT ? { AWS_ACCESS_KEY_ID: "embedded", AWS_SECRET_ACCESS_KEY: "embedded" } : {}),
        CORS_ORIGINS: baseUrl,
        OPENAI_BASE_URL: openaiUrl,
        OPENAI_API_KEY: "e2e",
        ELEVENLABS_BASE_URL: elevenLabsUrl,
        ELEVENLABS_API_KEY: "e2e",
        // Calls nobody answers are missed sooner than in production, so a test can wait for one.
        VOICE_RING_TIMEOUT_SECONDS: "12",
        LIVEKIT_API_KEY: "",
        LIVEKIT_API_SECRET: "",
        LIVEKIT_URL: "",
        TRANSLATION_RETRY_SCALE: "2",
        // Every browser here signs up and logs in from 127.0.0.1, one address for all of them.
        SIGNUP_RATE_LIMIT_PER_ADDRESS_COUNT: "1000",
        LOGIN_RATE_LIMIT_PER_ADDRESS_COUNT: "1000",
        // A test fills a chat with more than a few pages of messages; the limit has its own
        // backend tests.
        MESSAGE_RATE_LIMIT_COUNT: "1000",
        REDIS_URL: "",
        PYTHONUNBUFFERED: "1",
      },
    });

    // 3. front end (build while the backend starts)
    build(apiUrl);
    await waitFor(`${apiUrl}/api/health`, "backend", backend);
    log(`backend at ${apiUrl}`);
    const frontend = start("frontend", process.execPath, [join(FRONTEND, "scripts", "start.mjs")], {
      cwd: FRONTEND,
      env: { ...process.env, NEXT_DIST_DIR: DIST, PORT: String(frontendPort), HOSTNAME: "127.0.0.1" },
    });
    await waitFor(`${baseUrl}/`, "front end", frontend);
    log(`front end at ${baseUrl}`);

    process.env.E2E_BASE_URL = baseUrl;
    process.env.E2E_API_URL = apiUrl;
  } catch (error) {
    stopAll();
    throw error;
  }
  return async () => stopAll();
}
