"use client";

/**
 * The signed-in session as React sees it: the context AppSession provides and the hooks the
 * components read it through. Apart from AppSession so that the components it renders can use
 * these hooks without importing it back.
 */
import { createContext, useContext, useSyncExternalStore } from "react";
import type { Api } from "@/lib/api";
import type { ChatClient, ClientSnapshot } from "@/lib/client";
import type { Me } from "@/lib/types";
import type { VoiceSnapshot } from "@/lib/voice";

export interface SessionValue {
  me: Me;
  api: Api;
  client: ChatClient;
  setMe: (me: Me) => void;
  logout: (reason?: string) => void;
}

export const SessionContext = createContext<SessionValue | null>(null);

export const SESSION_EXPIRED = "Your session has expired. Please log in again.";

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside AppSession");
  return value;
}

/** Chats, threads, the outbox and the connection (the client's store). */
export function useClientSnapshot(): ClientSnapshot {
  const { client } = useSession();
  return useSyncExternalStore(client.subscribe, client.getSnapshot, client.getSnapshot);
}

/** Calls, push-to-talk turns and received speech (the client's voice store). */
export function useVoiceSnapshot(): VoiceSnapshot {
  const { client } = useSession();
  return useSyncExternalStore(client.voice.subscribe, client.voice.getSnapshot, client.voice.getSnapshot);
}
