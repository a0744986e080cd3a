/**
 * Settings baked into the bundle at build time (Next.js inlines NEXT_PUBLIC_* variables).
 * Change them by rebuilding with different environment variables.
 */

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

export function deriveWsUrl(apiUrl: string): string {
  return trimSlash(apiUrl).replace(/^http(s?):\/\//i, (_, s: string) => `ws${s}://`);
}

function positiveInt(raw: string | undefined, fallback: number): number {
  const value = Number.parseInt(raw ?? "", 10);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

export const API_URL = trimSlash(process.env.NEXT_PUBLIC_API_URL || "http://127.0.0.1:8000");
export const WS_URL = trimSlash(process.env.NEXT_PUBLIC_WS_URL || deriveWsUrl(API_URL));
export const LIVEKIT_URL = process.env.NEXT_PUBLIC_LIVEKIT_URL || "";
export const PASSWORD_MIN_LENGTH = positiveInt(process.env.NEXT_PUBLIC_PASSWORD_MIN_LENGTH, 8);

/** The server refuses longer messages (MESSAGE_MAX_CHARS). */
export const MESSAGE_MAX_CHARS = 2000;
/** Show the character counter from here on. */
export const MESSAGE_COUNTER_FROM = 1800;
