"use client";

/**
 * The signed-in part of the app: checks the session, loads the profile, runs one ChatClient
 * (socket + outbox + state) for the tab, and sends the user back to log in when the session
 * ends (a 401 anywhere, or the socket refused).
 */
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiError, apiFor, onUnauthorized, type Api } from "@/lib/api";
import { ChatClient } from "@/lib/client";
import { WS_URL } from "@/lib/config";
import { browserRecorderFactory, releaseMicrophone } from "@/lib/mediaRecorder";
import { getToken, sessionEnder, TOKEN_STORAGE_KEY } from "@/lib/session";
import type { Me } from "@/lib/types";
import { Announcer } from "./Announcer";
import { BrowserNotifications } from "./BrowserNotifications";
import { CallBanner } from "./CallBanner";
import { ConnectionAnnouncer } from "./ConnectionStatus";
import { PageTitle, UnreadCount } from "./PageTitle";
import { SESSION_EXPIRED, SessionContext, useClientSnapshot, type SessionValue } from "./session";
import { Toast } from "./Toast";
import { VoiceAudio } from "./VoiceAudio";

function browserStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** The same user reading in the same language: the running client still fits the profile. */
function sameReader(a: Me | null, b: Me): boolean {
  return a !== null && a.user_id === b.user_id && a.native_language === b.native_language;
}

export function AppSession({ children }: { children: ReactNode }) {
  const router = useRouter();
  const [api, setApi] = useState<Api | null>(null);
  const [me, setMeState] = useState<Me | null>(null);
  // The profile the client was started for: it changes only with the user or the language.
  const [reader, setReader] = useState<Me | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  const logout = useMemo(() => sessionEnder(() => router.replace("/")), [router]);

  const setMe = useCallback((profile: Me) => {
    setMeState(profile);
    setReader((current) => (sameReader(current, profile) ? current : profile));
  }, []);

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
    const tokenApi = apiFor(stored);
    let live = true;
    tokenApi
      .me()
      .then((profile) => {
        if (live) {
          setApi((current) => current ?? tokenApi);
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
  }, [router, attempt, setMe]);

  // Another tab logged out: follow.
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key === TOKEN_STORAGE_KEY && !event.newValue) logout("You logged out in another tab.");
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, [logout]);

  // One client per signed-in user and language (a language change starts it afresh, so
  // everything is shown in the new language).
  const client = useMemo(() => {
    if (!api || !reader) return null;
    return new ChatClient({
      api,
      me: reader,
      wsUrl: WS_URL,
      storage: browserStorage(),
      onSessionExpired: (detail) => logout(`${SESSION_EXPIRED} (${detail})`),
      isOnline: () => (typeof navigator === "undefined" ? true : navigator.onLine !== false),
      browserEvents: true,
      createRecorder: browserRecorderFactory,
    });
  }, [api, reader, logout]);

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
    [api, me, client, setMe, logout],
  );

  if (loadError) {
    return (
      <main id="main" className="center-page">
        <PageTitle title="Can't load your account" />
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
      <main id="main" className="center-page" aria-busy="true">
        <PageTitle title={null} />
        <p className="muted">Loading…</p>
      </main>
    );
  }
  return (
    <SessionContext.Provider value={value}>
      <Announcer />
      <ConnectionAnnouncer />
      <Toast />
      <VoiceAudio />
      <CallBanner />
      <BrowserNotifications />
      <UnreadInTitle>{children}</UnreadInTitle>
    </SessionContext.Provider>
  );
}

/** Unread messages across chats, for every page's title ("(3) Chats · Commonality"). */
function UnreadInTitle({ children }: { children: ReactNode }) {
  const snapshot = useClientSnapshot();
  const unread = Object.values(snapshot.chat.chats).reduce((sum, chat) => sum + (chat.unread_count ?? 0), 0);
  return <UnreadCount.Provider value={unread}>{children}</UnreadCount.Provider>;
}
