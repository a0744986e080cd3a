#!/usr/bin/env node
/**
 * `npm run check:cycles`: fails when the modules under src/ import each other in a cycle.
 *
 * Every import counts, `import type` and `export … from` included: a cycle through types
 * is still two modules that cannot be understood (or moved) one without the other. Imports
 * are read with the TypeScript compiler's own pre-processor, so comments and strings never
 * look like imports; "@/x" resolves to src/x as in tsconfig.json.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const src = join(root, "src");
const EXTENSIONS = [".ts", ".tsx"];

function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return EXTENSIONS.some((ext) => name.endsWith(ext)) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The file an import specifier names, or null for a package (or anything outside src/). */
function resolveImport(fromFile, specifier) {
  let base;
  if (specifier.startsWith("@/")) base = join(src, specifier.slice(2));
  else if (specifier.startsWith(".")) base = resolve(dirname(fromFile), specifier);
  else return null;
  const candidates = [base, ...EXTENSIONS.map((ext) => base + ext), ...EXTENSIONS.map((ext) => join(base, "index" + ext))];
  const found = candidates.find((path) => existsSync(path) && statSync(path).isFile());
  if (!found) throw new Error(`${relative(root, fromFile)}: cannot resolve "${specifier}"`);
  return found;
}

const graph = new Map();
for (const file of sourceFiles(src)) {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  const targets = importedFiles.map((entry) => resolveImport(file, entry.fileName)).filter(Boolean);
  graph.set(file, [...new Set(targets)]);
}

// Depth-first search; a back edge (to a module still on the stack) closes a cycle.
const cycles = [];
const state = new Map(); // file -> "open" | "done"
const stack = [];
function visit(file) {
  state.set(file, "open");
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
    else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(file, "done");
}
for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);

if (cycles.length > 0) {
  console.error(`Import cycles in src/ (${cycles.length}):`);
  for (const cycle of cycles) console.error("  " + cycle.map((file) => relative(src, file)).join(" -> "));
  process.exit(1);
}
console.log(`No import cycles among ${graph.size} modules in src/.`);
