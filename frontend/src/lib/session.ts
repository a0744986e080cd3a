/** The access token, kept in localStorage so every tab shares one session. */

const TOKEN_KEY = "commonality.token";
const REASON_KEY = "commonality.logout_reason";

function storage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.localStorage;
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return storage()?.getItem(TOKEN_KEY) ?? null;
}

export function setToken(token: string): void {
  storage()?.setItem(TOKEN_KEY, token);
  try {
    window.sessionStorage.removeItem(REASON_KEY);
  } catch {
    // ignore
  }
}

export function clearToken(): void {
  storage()?.removeItem(TOKEN_KEY);
}

/** The reason shown after "Log out everywhere" in this tab. */
export const LOGGED_OUT_EVERYWHERE = "You logged out on every device.";

/** Why the user was sent back to log in; shown once on the landing page. */
export function setLogoutReason(reason: string): void {
  try {
    window.sessionStorage.setItem(REASON_KEY, reason);
  } catch {
    // ignore
  }
}

export function takeLogoutReason(): string | null {
  try {
    const reason = window.sessionStorage.getItem(REASON_KEY);
    window.sessionStorage.removeItem(REASON_KEY);
    return reason;
  } catch {
    return null;
  }
}

export const TOKEN_STORAGE_KEY = TOKEN_KEY;

/**
 * A log-out that acts once: the first call clears the token, keeps its reason and runs
 * `leave`; later calls (a burst of 401s, the socket refused as well) do nothing, so the
 * first reason is the one shown.
 */
export function sessionEnder(leave: () => void): (reason?: string) => void {
  let ended = false;
  return (reason) => {
    if (ended) return;
    ended = true;
    clearToken();
    if (reason) setLogoutReason(reason);
    leave();
  };
}
