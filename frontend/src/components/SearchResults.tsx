"use client";

import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useId, useState, type FormEvent } from "react";
import { ApiError } from "@/lib/api";
import { shortTime } from "@/lib/format";
import { SEARCH_QUERY_MAX_CHARS, resultHref, searchPageHref, searchQueryProblem } from "@/lib/search";
import type { SearchResult } from "@/lib/types";
import { useSession } from "./session";
import { FormError } from "./FormError";

interface Found {
  q: string;
  results: SearchResult[];
  nextCursor: string | null;
}

/** The search page's content: the query (from `?q=`), then the messages found, each in the
 *  reader's language with its matching words marked, each a link to the message in its chat. */
export function SearchResults() {
  const q = useSearchParams().get("q") ?? "";
  // A new query starts afresh: its own state, its own request.
  return <SearchFor key={q} q={q} />;
}

function SearchFor({ q }: { q: string }) {
  const { api } = useSession();
  const router = useRouter();
  const problem = q ? searchQueryProblem(q) : null;
  const asking = Boolean(q) && !problem;
  const [typed, setTyped] = useState(q);
  const [found, setFound] = useState<Found | null>(null);
  const [error, setError] = useState<string | null>(problem);
  const [busy, setBusy] = useState(asking);
  const id = useId();

  useEffect(() => {
    if (!asking) return;
    let current = true;
    api
      .search(q)
      .then((page) => current && setFound({ q, results: page.results, nextCursor: page.next_cursor }))
      .catch((err) => current && setError(err instanceof ApiError ? err.detail : String(err)))
      .finally(() => current && setBusy(false));
    return () => {
      current = false;
    };
  }, [api, q, asking]);

  async function more() {
    if (!found?.nextCursor) return;
    setBusy(true);
    try {
      const page = await api.search(found.q, found.nextCursor);
      setFound({ q: found.q, results: [...found.results, ...page.results], nextCursor: page.next_cursor });
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : String(err));
    } finally {
      setBusy(false);
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    const problem = searchQueryProblem(typed);
    if (problem) {
      setError(problem);
      return;
    }
    router.push(searchPageHref(typed));
  }

  const count = found?.results.length ?? 0;
  const status = busy
    ? "Searching…"
    : found
      ? count === 0
        ? `No messages found for “${found.q}”.`
        : `${count}${found.nextCursor ? "+" : ""} ${count === 1 ? "message" : "messages"} found for “${found.q}”.`
      : "";

  return (
    <section className="card search-card" aria-labelledby={`${id}-title`}>
      <Link href="/chats" className="back-link">
        ← Chats
      </Link>
      <h1 id={`${id}-title`} className="h2">
        Search messages
      </h1>
      <form role="search" aria-label="Messages" className="search-form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={`${id}-q`}>Words to find, in any language</label>
          <input
            id={`${id}-q`}
            type="search"
            name="q"
            value={typed}
            maxLength={SEARCH_QUERY_MAX_CHARS}
            autoComplete="off"
            enterKeyHint="search"
            aria-describedby={`${id}-hint`}
            onChange={(e) => setTyped(e.target.value)}
          />
          <p className="hint" id={`${id}-hint`}>
            Whole words; every word must be in the message. Found in your language or as written.
          </p>
        </div>
        <button className="btn primary" type="submit" disabled={busy}>
          Search
        </button>
      </form>
      <FormError message={error} />
      <p className="muted search-status" role="status" aria-live="polite" data-testid="search-status">
        {status}
      </p>
      {found && count > 0 && (
        <ol className="search-results" aria-label={`Results for ${found.q}`}>
          {found.results.map((result) => (
            <li key={`${result.chat_id}#${result.seq}`}>
              <Link href={resultHref(result)} className="search-result" data-testid="search-result">
                <span className="search-result-top">
                  <span className="search-result-chat">
                    {result.chat_name ?? "Chat"}
                    {result.kind === "group" && <span className="tag">Group</span>}
                  </span>
                  <time className="chat-item-time" dateTime={result.message.timestamp}>
                    {shortTime(result.message.timestamp)}
                  </time>
                </span>
                {result.sender_name && <span className="search-result-sender">{result.sender_name}</span>}
                <span className="search-result-snippet" dir="auto" lang={result.snippet_is_original ? result.message.original_language : result.message.language}>
                  {result.snippet.map((part, i) => (part.match ? <mark key={i}>{part.text}</mark> : <span key={i}>{part.text}</span>))}
                </span>
                {result.snippet_is_original && (
                  <span className="hint search-result-note" dir="auto">
                    Matched as written. In your language: {result.message.text.length > 120 ? `${result.message.text.slice(0, 119)}…` : result.message.text}
                  </span>
                )}
              </Link>
            </li>
          ))}
        </ol>
      )}
      {found?.nextCursor && (
        <button type="button" className="btn" onClick={more} disabled={busy}>
          {busy ? "Loading…" : "More results"}
        </button>
      )}
    </section>
  );
}
