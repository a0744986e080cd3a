/** Language names for codes, from GET /api/languages (fetched once per page load). */
import { useEffect, useState } from "react";
import { publicApi } from "./api";
import type { Language } from "./types";

let cache: Promise<Language[]> | null = null;

export function loadLanguages(): Promise<Language[]> {
  if (!cache) {
    cache = publicApi.languages().catch((error) => {
      cache = null;
      throw error;
    });
  }
  return cache;
}

export function useLanguages(): { languages: Language[] | null; error: string | null; retry: () => void } {
  const [languages, setLanguages] = useState<Language[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let live = true;
    loadLanguages()
      .then((list) => {
        if (live) {
          setLanguages(list);
          setError(null);
        }
      })
      .catch((err: unknown) => {
        if (live) setError(err instanceof Error ? err.message : String(err));
      });
    return () => {
      live = false;
    };
  }, [attempt]);
  return { languages, error, retry: () => setAttempt((n) => n + 1) };
}

/** "Spanish" for "es": from the server's list when loaded, else the browser's names. */
export function languageName(code: string | undefined | null, languages: Language[] | null): string {
  if (!code) return "";
  const found = languages?.find((language) => language.code === code);
  if (found) return found.name;
  try {
    return new Intl.DisplayNames(["en"], { type: "language" }).of(code) ?? code;
  } catch {
    return code;
  }
}

export function nativeLanguageName(code: string | undefined | null, languages: Language[] | null): string {
  const found = languages?.find((language) => language.code === code);
  return found ? found.native_name : languageName(code, languages);
}

/** A language in a list to choose from: "Español — Spanish"; one name when both are the same. */
export function languageOptionLabel(language: Language): string {
  return language.native_name === language.name ? language.name : `${language.native_name} — ${language.name}`;
}

/** Right-to-left scripts among the offered languages. */
export function isRtl(code: string | undefined | null): boolean {
  return code === "ar" || code === "he" || code === "fa" || code === "ur";
}

/**
 * "Languages I read" after ticking or unticking `code`: in the order of `offered` (the
 * server's), never the native language, which is read anyway.
 */
export function readLanguagesToggled(current: readonly string[], code: string, nativeLanguage: string, offered: readonly string[]): string[] {
  const chosen = new Set(current);
  if (chosen.has(code)) chosen.delete(code);
  else chosen.add(code);
  chosen.delete(nativeLanguage);
  return offered.filter((offeredCode) => chosen.has(offeredCode));
}

/** Whether two lists of language codes hold the same languages. */
export function sameLanguages(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((code) => b.includes(code));
}
