/** The tab's title, one rule for every page. */

export const APP_NAME = "Commonality";

/** "Beto Tester · Commonality": the page's own name, then the app's (just the app's while the
 *  page has none yet); "(3) …" first while messages are unread, whatever page is open. */
export function documentTitle(page: string | null, unread = 0): string {
  const base = page ? `${page} · ${APP_NAME}` : APP_NAME;
  return unread > 0 ? `(${unread}) ${base}` : base;
}
