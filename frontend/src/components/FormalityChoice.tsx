"use client";

/** How translations into my language address people in this chat (tú/usted, tu/vous, du/Sie). */
import { useEffect, useState } from "react";
import { ApiError } from "@/lib/api";
import { FORMALITY_LABELS, FORMALITY_LANGUAGES } from "@/lib/glossary";
import type { Formality } from "@/lib/types";
import { FormError } from "./FormError";
import { useSession } from "./session";

const NO_PREFERENCE = "";

export function FormalityChoice({ chatId }: { chatId: string }) {
  const { api, me } = useSession();
  const [formality, setFormality] = useState<Formality | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const applies = FORMALITY_LANGUAGES.has(me.native_language);

  useEffect(() => {
    if (!applies) return;
    let current = true;
    api
      .preferences(chatId)
      .then((reply) => current && setFormality(reply.formality))
      .catch((err: unknown) => current && setError(err instanceof ApiError ? err.detail : String(err)));
    return () => {
      current = false;
    };
  }, [api, chatId, applies]);

  if (!applies) return null;

  async function choose(value: string) {
    const next = value === NO_PREFERENCE ? null : (value as Formality);
    const before = formality;
    setFormality(next);
    setError(null);
    try {
      setFormality((await api.updatePreferences(chatId, next)).formality);
    } catch (err) {
      setFormality(before);
      setError(err instanceof ApiError ? err.detail : String(err));
    }
  }

  return (
    <div className="field">
      <label htmlFor={`formality-${chatId}`}>How translations address people here</label>
      <select id={`formality-${chatId}`} value={formality ?? NO_PREFERENCE} disabled={formality === undefined} onChange={(e) => void choose(e.target.value)}>
        <option value={NO_PREFERENCE}>As the conversation goes</option>
        {(Object.keys(FORMALITY_LABELS) as Formality[]).map((value) => (
          <option key={value} value={value}>
            {FORMALITY_LABELS[value]}
          </option>
        ))}
      </select>
      <FormError message={error} />
    </div>
  );
}
