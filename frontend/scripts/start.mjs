#!/usr/bin/env node
/**
 * `npm start`: serve the production build. With `output: "standalone"` Next writes a
 * self-contained server to <distDir>/standalone; it needs the static assets (and public/)
 * copied beside it, which this does, then runs it. PORT (default 3000) and HOSTNAME
 * (default 0.0.0.0) choose where it listens.
 */
import { cpSync, existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const distDir = process.env.NEXT_DIST_DIR || ".next";
const standalone = join(root, distDir, "standalone");
const server = join(standalone, "server.js");

if (!existsSync(server)) {
  console.error(`No production build at ${join(distDir, "standalone")}: run \`npm run build\` first.`);
  process.exit(1);
}

const staticTarget = join(standalone, distDir, "static");
rmSync(staticTarget, { recursive: true, force: true });
cpSync(join(root, distDir, "static"), staticTarget, { recursive: true });
if (existsSync(join(root, "public"))) {
  cpSync(join(root, "public"), join(standalone, "public"), { recursive: true });
}

const child = spawn(process.execPath, [server], {
  stdio: "inherit",
  env: { PORT: "3000", HOSTNAME: "0.0.0.0", ...process.env },
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
