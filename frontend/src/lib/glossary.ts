/**
 * A chat's glossary as the info panel edits it: the same rules the server applies
 * (apps/chats/glossary.py), checked before sending so a mistake is said at once, and the
 * edits, each a new list (the server takes the whole list with the version it was made from).
 */
import type { Formality, GlossaryEntry } from "./types";

export const GLOSSARY_MAX_ENTRIES = 50;
export const GLOSSARY_TERM_MAX_CHARS = 60;
export const GLOSSARY_RENDERING_MAX_CHARS = 60;

/** Languages whose translations can be formal or informal (tu/vous, tú/usted, du/Sie…). */
export const FORMALITY_LANGUAGES: ReadonlySet<string> = new Set(["es", "fr", "de", "pt", "zh", "ja", "ko", "hi"]);

export const FORMALITY_LABELS: Record<Formality, string> = {
  formal: "Formal (usted, vous, Sie)",
  informal: "Informal (tú, tu, du)",
};

/** An entry as typed: trimmed; an empty rendering means "keep as written". */
export function glossaryEntryFrom(term: string, rendering: string): GlossaryEntry {
  const kept = rendering.trim();
  return { term: term.trim(), rendering: kept ? kept : null };
}

/** Why `entries` would be refused, or null when the server will take them. */
export function glossaryProblem(entries: GlossaryEntry[]): string | null {
  if (entries.length > GLOSSARY_MAX_ENTRIES) return `A glossary holds at most ${GLOSSARY_MAX_ENTRIES} terms.`;
  const seen = new Set<string>();
  for (const entry of entries) {
    if (!entry.term) return "Enter a term.";
    if (entry.term.length > GLOSSARY_TERM_MAX_CHARS) return `A term can be at most ${GLOSSARY_TERM_MAX_CHARS} characters.`;
    if (entry.rendering !== null && entry.rendering.length > GLOSSARY_RENDERING_MAX_CHARS) {
      return `A translation can be at most ${GLOSSARY_RENDERING_MAX_CHARS} characters.`;
    }
    // The server compares terms case-folded; lower-casing is the browser's nearest match.
    const key = entry.term.toLowerCase();
    if (seen.has(key)) return `"${entry.term}" is already in the glossary.`;
    seen.add(key);
  }
  return null;
}

/** The list with `entry` at `index` (replacing what was there), or added at the end. */
export function glossaryWith(entries: GlossaryEntry[], entry: GlossaryEntry, index: number | null = null): GlossaryEntry[] {
  if (index === null || index < 0 || index >= entries.length) return [...entries, entry];
  return entries.map((existing, at) => (at === index ? entry : existing));
}

export function glossaryWithout(entries: GlossaryEntry[], index: number): GlossaryEntry[] {
  return entries.filter((_, at) => at !== index);
}
