import { describe, expect, it } from "vitest";
import { GLOSSARY_MAX_ENTRIES, glossaryEntryFrom, glossaryProblem, glossaryWith, glossaryWithout } from "@/lib/glossary";
import type { GlossaryEntry } from "@/lib/types";

const abuela: GlossaryEntry = { term: "abuela", rendering: "grandma" };
const nico: GlossaryEntry = { term: "Nico's", rendering: null };

describe("glossary", () => {
  it("an entry as typed: trimmed, and an empty translation keeps the term as written", () => {
    expect(glossaryEntryFrom("  abuela ", " grandma ")).toEqual(abuela);
    expect(glossaryEntryFrom("Nico's", "   ")).toEqual(nico);
  });

  it("adds at the end, replaces the entry being edited, removes by position", () => {
    const tia = { term: "tía", rendering: "auntie" };
    expect(glossaryWith([abuela], nico)).toEqual([abuela, nico]);
    expect(glossaryWith([abuela, nico], tia, 0)).toEqual([tia, nico]);
    expect(glossaryWith([abuela], tia, 5)).toEqual([abuela, tia]);
    expect(glossaryWithout([abuela, nico], 0)).toEqual([nico]);
  });

  it("says what the server would refuse, before sending", () => {
    expect(glossaryProblem([abuela, nico])).toBeNull();
    expect(glossaryProblem([{ term: "", rendering: null }])).toMatch(/term/i);
    expect(glossaryProblem([{ term: "x".repeat(61), rendering: null }])).toMatch(/60/);
    expect(glossaryProblem([{ term: "x", rendering: "y".repeat(61) }])).toMatch(/60/);
    expect(glossaryProblem([abuela, { term: "Abuela", rendering: null }])).toMatch(/already/);
    const full = Array.from({ length: GLOSSARY_MAX_ENTRIES + 1 }, (_, n) => ({ term: `t${n}`, rendering: null }));
    expect(glossaryProblem(full)).toMatch(/at most 50/);
    expect(glossaryProblem(full.slice(1))).toBeNull();
  });
});
