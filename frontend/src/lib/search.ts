/**
 * Message search (`GET /api/search`, the backend's apps/chats/search.py): the request's path,
 * where a result leads, and what is checked before asking.
 */
import type { SearchResult } from "./types";

/** The backend refuses longer queries (422); checked here first to say so at once. */
export const SEARCH_QUERY_MAX_CHARS = 100;

export function searchPath(q: string, cursor?: string | null): string {
  const query = new URLSearchParams({ q });
  if (cursor) query.set("cursor", cursor);
  return `/api/search?${query}`;
}

/** The search page for a query (the inbox's search box leads there). */
export function searchPageHref(q: string): string {
  return `/search?${new URLSearchParams({ q: q.trim() })}`;
}

/** The conversation, scrolled to the message found. */
export function resultHref(result: Pick<SearchResult, "chat_id" | "seq">): string {
  return `/chats/${encodeURIComponent(result.chat_id)}?at=${result.seq}`;
}

/** Why a query can't be sent as typed, or null. */
export function searchQueryProblem(q: string): string | null {
  if (!q.trim()) return "Type a word to search for.";
  if (q.length > SEARCH_QUERY_MAX_CHARS) return `Use at most ${SEARCH_QUERY_MAX_CHARS} characters.`;
  return null;
}

/** The snippet as plain text, for a result's accessible name. */
export function snippetText(result: Pick<SearchResult, "snippet">): string {
  return result.snippet.map((part) => part.text).join("");
}
