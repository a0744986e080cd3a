"use client";

import { useRouter } from "next/navigation";
import { useId, useState, type FormEvent } from "react";
import { SEARCH_QUERY_MAX_CHARS, searchPageHref, searchQueryProblem } from "@/lib/search";

/** The search box at the top of the inbox: Enter (or the button) opens the search page. */
export function InboxSearch({ initial = "" }: { initial?: string }) {
  const router = useRouter();
  const [q, setQ] = useState(initial);
  const id = useId();

  function submit(event: FormEvent) {
    event.preventDefault();
    if (searchQueryProblem(q)) return;
    router.push(searchPageHref(q));
  }

  return (
    <form role="search" aria-label="Messages" className="inbox-search" onSubmit={submit}>
      <label htmlFor={`${id}-q`} className="visually-hidden">
        Search your messages
      </label>
      <input
        id={`${id}-q`}
        type="search"
        name="q"
        value={q}
        maxLength={SEARCH_QUERY_MAX_CHARS}
        placeholder="Search messages"
        autoComplete="off"
        enterKeyHint="search"
        onChange={(e) => setQ(e.target.value)}
      />
      <button type="submit" className="btn">
        Search
      </button>
    </form>
  );
}
