"use client";

/**
 * The signed-in part of the app: checks the session, loads the profile, runs one ChatClient
 * (socket + outbox + state) for the tab, and sends the user back to log in when the session
 * ends (a 401 anywhere, or the socket refused).
 */
import { usePathname, useRouter } from "next/navigation";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import { ApiError, apiFor, onUnauthorized, type Api } from "@/lib/api";
import { ChatClient, type ClientSnapshot } from "@/lib/client";
import { WS_URL } from "@/lib/config";
import { browserRecorderFactory, releaseMicrophone } from "@/lib/mediaRecorder";
import type { VoiceSnapshot } from "@/lib/voice";
import { clearToken, getToken, setLogoutReason } from "@/lib/session";
import type { Me } from "@/lib/types";
import { Announcer } from "./Announcer";
import { CallBanner } from "./CallBanner";
import { ConnectionAnnouncer } from "./ConnectionStatus";
import { Toast } from "./Toast";
import { VoiceAudio } from "./VoiceAudio";

interface SessionValue {
  me: Me;
  api: Api;
  client: ChatClient;
  setMe: (me: Me) => void;
  logout: (reason?: string) => void;
}

const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside AppSession");
  return value;
}

const serverSnapshot: ClientSnapshot | null = null;

export function useClientSnapshot(): ClientSnapshot {
  const { client } = useSession();
  return useSyncExternalStore(client.subscribe, client.getSnapshot, () => serverSnapshot ?? client.getSnapshot());
}

/** Calls, push-to-talk turns and received speech (the client's voice store). */
export function useVoiceSnapshot(): VoiceSnapshot {
  const { client } = useSession();
  return useSyncExternalStore(client.voice.subscribe, client.voice.getSnapshot, client.voice.getSnapshot);
}

function browserStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export const SESSION_EXPIRED = "Your session has expired. Please log in again.";

export function AppSession({ children }: { children: ReactNode }) {
  const router = useRouter();
  const [token, setTokenState] = useState<string | null>(null);
  const [me, setMe] = useState<Me | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const ended = useRef(false);

  const logout = useCallback(
    (reason?: string) => {
      if (ended.current) return;
      ended.current = true;
      clearToken();
      if (reason) setLogoutReason(reason);
      router.replace("/");
    },
    [router],
  );

  // Any 401 on an authenticated call ends the session.
  useEffect(() => {
    onUnauthorized((detail) => logout(`${SESSION_EXPIRED} (${detail})`));
    return () => onUnauthorized(null);
  }, [logout]);

  useEffect(() => {
    const stored = getToken();
    if (!stored) {
      router.replace("/");
      return;
    }
    setTokenState(stored);
    let live = true;
    apiFor(stored)
      .me()
      .then((profile) => {
        if (live) {
          setMe(profile);
          setLoadError(null);
        }
      })
      .catch((error: unknown) => {
        if (!live) return;
        if (error instanceof ApiError && error.status === 401) return; // handled by onUnauthorized
        setLoadError(error instanceof Error ? error.message : String(error));
      });
    return () => {
      live = false;
    };
  }, [router, attempt]);

  // Another tab logged out: follow.
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key === "commonality.token" && !event.newValue) logout("You logged out in another tab.");
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, [logout]);

  const api = useMemo(() => (token ? apiFor(token) : null), [token]);

  // One client per signed-in user and language (a language change starts it afresh, so
  // everything is shown in the new language).
  const client = useMemo(() => {
    if (!api || !me) return null;
    return new ChatClient({
      api,
      me,
      wsUrl: WS_URL,
      storage: browserStorage(),
      onSessionExpired: (detail) => logout(`${SESSION_EXPIRED} (${detail})`),
      isOnline: () => (typeof navigator === "undefined" ? true : navigator.onLine !== false),
      browserEvents: true,
      createRecorder: browserRecorderFactory,
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, me?.user_id, me?.native_language]);

  useEffect(() => {
    if (!client) return;
    client.start();
    return () => {
      client.stop();
      releaseMicrophone();
    };
  }, [client]);

  const value = useMemo<SessionValue | null>(
    () => (api && me && client ? { me, api, client, setMe, logout } : null),
    [api, me, client, logout],
  );

  if (loadError) {
    return (
      <main className="center-page">
        <div className="card narrow" role="alert">
          <h1 className="h2">Can&apos;t load your account</h1>
          <p>{loadError}</p>
          <div className="row">
            <button className="btn primary" onClick={() => setAttempt((n) => n + 1)}>
              Try again
            </button>
            <button className="btn" onClick={() => logout()}>
              Log out
            </button>
          </div>
        </div>
      </main>
    );
  }
  if (!value) {
    return (
      <main className="center-page" aria-busy="true">
        <p className="muted">Loading…</p>
      </main>
    );
  }
  return (
    <SessionContext.Provider value={value}>
      <UnreadTitle />
      <Announcer />
      <ConnectionAnnouncer />
      <Toast />
      <VoiceAudio />
      <CallBanner />
      {children}
    </SessionContext.Provider>
  );
}

/** "(3) Commonality": unread messages across chats, in the tab title. */
function UnreadTitle() {
  const snapshot = useClientSnapshot();
  const pathname = usePathname();
  const unread = Object.values(snapshot.chat.chats).reduce((sum, chat) => sum + (chat.unread_count ?? 0), 0);
  useEffect(() => {
    const base = document.title.replace(/^\(\d+\)\s*/, "");
    document.title = unread > 0 ? `(${unread}) ${base}` : base;
  }, [unread, pathname]);
  return null;
}
