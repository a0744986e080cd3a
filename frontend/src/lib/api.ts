/**
 * REST calls to the backend. Every failure becomes an ApiError whose `detail` is the
 * backend's own words (`{"detail": ...}`), or a plain sentence when the server could not be
 * reached at all. A 401 on an authenticated call ends the session (see onUnauthorized).
 */
import { API_URL } from "./config";
import { searchPath } from "./search";
import type { AccountDeletedReply, ChatCreated, ChatDetail, ChatMuteReply, ChatPreferences, ChatSummary, Formality, Glossary, GlossaryEntry, HistoryPage, Language, LeaveReply, LogoutAllReply, Me, MemberAddReply, MessageCreateReply, MessageDeleteReply, MessageEditReply, PushConfig, PushSubscriptionReply, SearchPage, SocketTicketReply, TokenReply, VoiceTokenReply } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
    this.name = "ApiError";
  }
}

export const NETWORK_ERROR = "Can't reach the server. Check your connection and try again.";

let unauthorizedHandler: ((detail: string) => void) | null = null;

/** Called when an authenticated request answers 401 (expired or revoked session). */
export function onUnauthorized(handler: ((detail: string) => void) | null): void {
  unauthorizedHandler = handler;
}

/** The backend's words from a failed reply (`{"detail": "..."}`, apps/core/http.py); a plain
 *  sentence when the reply is not the backend's (a proxy's page, an empty body). */
function detailOf(payload: unknown, status: number, statusText: string): string {
  const detail = payload && typeof payload === "object" ? (payload as { detail?: unknown }).detail : undefined;
  if (typeof detail === "string" && detail.trim()) return detail;
  if (status >= 500) return `The server had a problem (${status}). Please try again in a moment.`;
  return `Request failed (${status}${statusText ? ` ${statusText}` : ""})`;
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  token?: string | null;
  signal?: AbortSignal;
}

export async function request<T>(path: string, { method = "GET", body, token, signal }: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetchOrFail(`${API_URL}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await failure(response, token);
  return (await payloadOf(response)) as T;
}

/** The body as JSON; null when it is empty or not JSON. */
async function payloadOf(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => "");
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function failure(response: Response, token: string | null | undefined): Promise<ApiError> {
  const detail = detailOf(await payloadOf(response), response.status, response.statusText);
  if (response.status === 401 && token) unauthorizedHandler?.(detail);
  return new ApiError(response.status, detail);
}

async function fetchOrFail(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, cache: "no-store" });
  } catch (error) {
    if ((error as { name?: string })?.name === "AbortError") throw error;
    throw new ApiError(0, NETWORK_ERROR);
  }
}

/** Upload a recording as the body (the backend reads the format from Content-Type). */
export async function uploadAudio<T>(path: string, audio: Blob, contentType: string, token: string): Promise<T> {
  const response = await fetchOrFail(`${API_URL}${path}`, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": contentType, Authorization: `Bearer ${token}` },
    body: audio,
  });
  if (!response.ok) throw await failure(response, token);
  return (await response.json()) as T;
}

/** Fetch audio with the bearer header (an <audio src> can't send one), as a Blob. */
export async function fetchAudio(path: string, token: string, signal?: AbortSignal): Promise<Blob> {
  const response = await fetchOrFail(`${API_URL}${path}`, { headers: { Authorization: `Bearer ${token}` }, signal });
  if (!response.ok) throw await failure(response, token);
  try {
    return await response.blob();
  } catch (error) {
    if ((error as { name?: string })?.name === "AbortError") throw error;
    throw new ApiError(0, "The audio stopped arriving halfway. Try again.");
  }
}

/** A file the backend sends as an attachment: its content and the name it suggests. */
export interface Download {
  blob: Blob;
  filename: string;
}

/** The name in `Content-Disposition: attachment; filename="..."`, else `fallback`. */
export function attachmentName(disposition: string | null, fallback: string): string {
  const name = disposition?.match(/filename="([^"]+)"/)?.[1];
  // Only a plain name: never a path, whatever a proxy or the header says.
  return name && /^[\w.-]+$/.test(name) ? name : fallback;
}

/** GET a file with the bearer header (a link can't send one). */
export async function fetchDownload(path: string, token: string, fallbackName: string): Promise<Download> {
  const response = await fetchOrFail(`${API_URL}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw await failure(response, token);
  const filename = attachmentName(response.headers.get("Content-Disposition"), fallbackName);
  try {
    return { blob: await response.blob(), filename };
  } catch {
    throw new ApiError(0, NETWORK_ERROR);
  }
}

/** The backend's API, bound to one access token. */
export function apiFor(token: string) {
  return {
    me: () => request<Me>("/api/auth/me", { token }),
    updateMe: (changes: Partial<Pick<Me, "first_name" | "last_name" | "native_language" | "read_languages" | "presence_visible">>) =>
      request<Me>("/api/auth/me", { method: "PATCH", body: changes, token }),
    /** Ends every session of the user, this one included (every token and socket ticket). */
    logoutAll: () => request<LogoutAllReply>("/api/auth/logout_all", { method: "POST", body: {}, token }),
    /** Everything of the user's, as the JSON file the operators' export makes. Named here when
     *  the header can't be read (another origin's Content-Disposition is not exposed). */
    exportMyData: () =>
      fetchDownload("/api/auth/me/export", token, `commonality-data-${new Date().toISOString().slice(0, 10)}.json`),
    /** Deletes the account for good once `password` is confirmed (403 when it is wrong); every
     *  token and socket of the user stops working. */
    deleteAccount: (password: string) =>
      request<AccountDeletedReply>("/api/auth/me/delete", { method: "POST", body: { password }, token }),
    /** Whether the server sends Web Push, and the key to subscribe with. */
    pushConfig: () => request<PushConfig>("/api/push", { token }),
    /** A browser's `PushSubscription.toJSON()`: the server pushes new messages to it while the user is away. */
    pushSubscribe: (subscription: PushSubscriptionJSON) =>
      request<PushSubscriptionReply>("/api/push/subscriptions", { method: "POST", body: subscription, token }),
    pushUnsubscribe: (endpoint: string) =>
      request<PushSubscriptionReply>("/api/push/subscriptions", { method: "DELETE", body: { endpoint }, token }),
    wsTicket: () => request<SocketTicketReply>("/api/ws/ticket", { method: "POST", body: {}, token }),
    chats: () => request<ChatSummary[]>("/api/chats", { token }),
    chat: (chatId: string) => request<ChatDetail>(`/api/chats/${encodeURIComponent(chatId)}`, { token }),
    createDirect: (username: string) => request<ChatCreated>("/api/chats", { method: "POST", body: { username }, token }),
    createGroup: (title: string, usernames: string[]) =>
      request<ChatCreated>("/api/chats", { method: "POST", body: { title, usernames }, token }),
    history: (chatId: string, { cursor, limit }: { cursor?: string | null; limit?: number } = {}) => {
      const query = new URLSearchParams();
      if (cursor) query.set("cursor", cursor);
      if (limit) query.set("limit", String(limit));
      const suffix = query.size ? `?${query}` : "";
      return request<HistoryPage>(`/api/chats/${encodeURIComponent(chatId)}/messages${suffix}`, { token });
    },
    /** The user's messages matching `q`, newest first, in their language (search.ts). */
    search: (q: string, cursor?: string | null) => request<SearchPage>(searchPath(q, cursor), { token }),
    addMember: (chatId: string, username: string) =>
      request<MemberAddReply>(`/api/chats/${encodeURIComponent(chatId)}/members`, {
        method: "POST",
        body: { username },
        token,
      }),
    leave: (chatId: string) =>
      request<LeaveReply>(`/api/chats/${encodeURIComponent(chatId)}/members/me`, { method: "DELETE", token }),
    /** Edits one's own text message (by seq); every member then gets `message_edited`. */
    editMessage: (chatId: string, seq: number, text: string) =>
      request<MessageEditReply>(`/api/chats/${encodeURIComponent(chatId)}/messages/${seq}`, { method: "PATCH", body: { text }, token }),
    /** Deletes a message for everyone (one's own; any, for a group's creator). */
    deleteMessage: (chatId: string, seq: number) =>
      request<MessageDeleteReply>(`/api/chats/${encodeURIComponent(chatId)}/messages/${seq}`, { method: "DELETE", token }),
    glossary: (chatId: string) => request<Glossary>(`/api/chats/${encodeURIComponent(chatId)}/glossary`, { token }),
    /** Replaces the glossary; `version` is the one the edit was made from (409 if it moved on). */
    updateGlossary: (chatId: string, version: number, entries: GlossaryEntry[]) =>
      request<Glossary>(`/api/chats/${encodeURIComponent(chatId)}/glossary`, { method: "PUT", body: { version, entries }, token }),
    preferences: (chatId: string) => request<ChatPreferences>(`/api/chats/${encodeURIComponent(chatId)}/preferences`, { token }),
    updatePreferences: (chatId: string, formality: Formality | null) =>
      request<ChatPreferences>(`/api/chats/${encodeURIComponent(chatId)}/preferences`, { method: "PUT", body: { formality }, token }),
    /** Mutes or unmutes the chat for the caller on every device (no Web Push for its messages). */
    setMuted: (chatId: string, muted: boolean) =>
      request<ChatMuteReply>(`/api/chats/${encodeURIComponent(chatId)}/mute`, { method: "PUT", body: { muted }, token }),
    markRead: (chatId: string, seq: number) =>
      request<ChatSummary>(`/api/chats/${encodeURIComponent(chatId)}/read`, { method: "POST", body: { seq }, token }),
    voiceToken: (chatId: string) => request<VoiceTokenReply>("/api/voice/token", { method: "POST", body: { chat_id: chatId }, token }),
    voiceNote: (chatId: string, audio: Blob, contentType: string, clientMsgId: string) =>
      uploadAudio<MessageCreateReply>(
        `/api/chats/${encodeURIComponent(chatId)}/voice_notes?client_msg_id=${encodeURIComponent(clientMsgId)}`,
        audio,
        contentType,
        token,
      ),
    messageAudio: (chatId: string, seq: number, signal?: AbortSignal) =>
      fetchAudio(`/api/chats/${encodeURIComponent(chatId)}/messages/${seq}/audio`, token, signal),
  };
}

export type Api = ReturnType<typeof apiFor>;

export const publicApi = {
  languages: () => request<Language[]>("/api/languages"),
  login: (username: string, password: string) =>
    request<TokenReply>("/api/auth/login", { method: "POST", body: { username, password } }),
  signup: (fields: { username: string; password: string; first_name: string; last_name: string; native_language: string }) =>
    request<TokenReply>("/api/auth/signup", { method: "POST", body: fields }),
};
