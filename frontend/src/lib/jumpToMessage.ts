/**
 * Bringing one message of a chat into the list, loading older history pages until it is
 * there (a reply's quote, a `?at=` link). The list's scrolling is the component's
 * (components/useJumpToMessage.ts); this is the loop, kept apart so it is tested alone.
 */

export interface JumpSource {
  /** The message is in the loaded thread. */
  has: (seq: number) => boolean;
  /** The oldest seq loaded, or null when nothing is. */
  oldest: () => number | null;
  /** Load the next older page; false when there is nothing older. */
  loadOlder: () => Promise<boolean>;
  /** Resolves once the loaded page is in the thread the other functions read. */
  settled?: () => Promise<void>;
}

/** At most this many pages are loaded for one jump (50 messages a page: 5,000 messages). */
export const JUMP_MAX_PAGES = 100;

/** Loads older pages until `seq` is loaded; whether it is. Never loads past it: a seq older
 *  than the oldest loaded one is what the next page may hold, a newer one is there or gone. */
export async function loadUntil(seq: number, source: JumpSource, maxPages = JUMP_MAX_PAGES): Promise<boolean> {
  for (let page = 0; page <= maxPages; page++) {
    if (source.has(seq)) return true;
    const oldest = source.oldest();
    if (oldest !== null && oldest <= seq) return false;
    if (page === maxPages) return false;
    const more = await source.loadOlder();
    await source.settled?.();
    if (!more && !source.has(seq)) return false;
  }
  return false;
}
