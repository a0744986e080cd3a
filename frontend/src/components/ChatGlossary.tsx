"use client";

/**
 * A chat's glossary in its info panel: every member sees and edits the same list, kept live by
 * `glossary_updated`. Terms with no translation are kept as written in every language (names,
 * brands, in-jokes); the others always get the translation given.
 */
import { useEffect, useState, type FormEvent } from "react";
import { ApiError } from "@/lib/api";
import { glossaryEntryFrom, glossaryProblem, glossaryWith, glossaryWithout, GLOSSARY_RENDERING_MAX_CHARS, GLOSSARY_TERM_MAX_CHARS } from "@/lib/glossary";
import type { GlossaryEntry } from "@/lib/types";
import { FormError } from "./FormError";
import { useClientSnapshot, useSession } from "./session";

const STALE = "Someone else changed the glossary just now; this is the latest. Make your change again.";

export function ChatGlossary({ chatId }: { chatId: string }) {
  const { client } = useSession();
  const glossary = useClientSnapshot().chat.glossaries[chatId];
  const [term, setTerm] = useState("");
  const [rendering, setRendering] = useState("");
  const [editing, setEditing] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    client.loadGlossary(chatId).catch((err: unknown) => setError(`Couldn't load the glossary: ${err instanceof ApiError ? err.detail : String(err)}`));
  }, [client, chatId]);

  /** Sends `entries`; once stored, the form is cleared too when `clearForm` (in the same
   * render as the form is enabled again, so nothing typed meanwhile is lost). */
  async function save(entries: GlossaryEntry[], clearForm: boolean): Promise<void> {
    if (!glossary) return;
    const problem = glossaryProblem(entries);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await client.saveGlossary(chatId, glossary.version, entries);
      if (clearForm) stopEdit();
    } catch (err) {
      setError(err instanceof ApiError ? (err.status === 409 ? STALE : err.detail) : String(err));
    } finally {
      setBusy(false);
    }
  }

  function startEdit(index: number) {
    const entry = glossary?.entries[index];
    if (!entry) return;
    setEditing(index);
    setTerm(entry.term);
    setRendering(entry.rendering ?? "");
    setError(null);
  }

  function stopEdit() {
    setEditing(null);
    setTerm("");
    setRendering("");
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!glossary) return;
    await save(glossaryWith(glossary.entries, glossaryEntryFrom(term, rendering), editing), true);
  }

  async function remove(index: number) {
    if (!glossary) return;
    // Positions move when an entry goes: an edit under way is given up.
    await save(glossaryWithout(glossary.entries, index), editing !== null);
  }

  return (
    <section className="glossary" aria-labelledby={`glossary-${chatId}`}>
      <h3 id={`glossary-${chatId}`} className="h3">
        Glossary
      </h3>
      <p className="hint">Names and words every translation in this chat keeps as written, or always translates the same way.</p>
      {glossary && glossary.entries.length === 0 && <p className="muted small">No terms yet.</p>}
      {glossary && glossary.entries.length > 0 && (
        <ul className="member-list" aria-label="Glossary terms">
          {glossary.entries.map((entry, index) => (
            <li key={entry.term}>
              <span>
                <strong>{entry.term}</strong>{" "}
                {entry.rendering === null ? <span className="muted">kept as written</span> : <span>→ {entry.rendering}</span>}
              </span>
              <button type="button" className="btn small" onClick={() => startEdit(index)} disabled={busy} aria-label={`Edit ${entry.term}`}>
                Edit
              </button>
              <button type="button" className="btn small" onClick={() => void remove(index)} disabled={busy} aria-label={`Remove ${entry.term}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      {glossary && (
        <form className="inline-form" onSubmit={submit}>
          <label htmlFor={`glossary-term-${chatId}`} className="visually-hidden">
            Term
          </label>
          <input id={`glossary-term-${chatId}`} placeholder="Term" maxLength={GLOSSARY_TERM_MAX_CHARS} value={term} disabled={busy} onChange={(e) => setTerm(e.target.value)} />
          <label htmlFor={`glossary-rendering-${chatId}`} className="visually-hidden">
            Translation (leave empty to keep the term as written)
          </label>
          <input
            id={`glossary-rendering-${chatId}`}
            placeholder="Translation (empty: keep)"
            maxLength={GLOSSARY_RENDERING_MAX_CHARS}
            value={rendering}
            disabled={busy}
            onChange={(e) => setRendering(e.target.value)}
          />
          <button className="btn" type="submit" disabled={busy}>
            {editing === null ? "Add" : "Save"}
          </button>
          {editing !== null && (
            <button className="btn ghost" type="button" onClick={stopEdit} disabled={busy}>
              Cancel
            </button>
          )}
        </form>
      )}
      <FormError message={error} />
    </section>
  );
}
