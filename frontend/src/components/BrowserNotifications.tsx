"use client";

/**
 * Shows a browser notification (the Notification API) for a new message or a ringing call
 * while this tab is hidden or not focused, if the reader allowed them on the profile page.
 * What deserves one is lib/notifications.ts; muted chats are lib/mutedChats.ts, this device's
 * copy of the person's mutes as the server keeps them, which this component refills. Clicking one
 * brings the tab forward on that chat. Renders nothing; never asks for permission itself.
 */
import { useRouter } from "next/navigation";
import { useEffect } from "react";
import { incomingCalls } from "@/lib/callState";
import { isMuted, mutedChats, mutedChatsReplace, mutedOnServer, mutesToUpload, onMutedChange } from "@/lib/mutedChats";
import { NotificationGate, type NotificationContent } from "@/lib/notifications";
import { mutedChatsShare } from "@/lib/webPush";
import { useSession } from "./session";

function browserStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export function BrowserNotifications() {
  const { client, me } = useSession();
  const router = useRouter();

  // The person's mutes are the server's (chat summaries, `chat_muted`): this device's copy
  // follows them once the chats have loaded. Until then the copy from last time stands.
  useEffect(() => {
    const storage = browserStorage();
    let uploaded = false;
    let lastChats: unknown = null;
    const sync = () => {
      const { chats, chatsLoaded } = client.getSnapshot().chat;
      if (!chatsLoaded || chats === lastChats) return; // the store changes with every frame
      lastChats = chats;
      const onServer = mutedOnServer(Object.values(chats));
      let pending: string[] = [];
      if (!uploaded) {
        uploaded = true;
        // Chats muted on this device before the server kept mutes: muted there, once.
        pending = mutesToUpload(storage, me.user_id, onServer, Object.keys(chats));
        for (const chatId of pending) void client.setMuted(chatId, true).catch(() => undefined);
      }
      mutedChatsReplace(storage, me.user_id, [...onServer, ...pending]);
    };
    sync();
    return client.subscribe(sync);
  }, [client, me.user_id]);

  // The service worker shows pushes while the app is closed: it keeps the muted chats'
  // messages silent too (a push the server sent just before a mute reached it), from a copy
  // it can read.
  useEffect(() => {
    const share = () => void mutedChatsShare(mutedChats(browserStorage(), me.user_id));
    share();
    return onMutedChange(share);
  }, [me.user_id]);

  useEffect(() => {
    if (typeof window === "undefined" || !("Notification" in window)) return;
    const gate = new NotificationGate(me.user_id);
    const storage = browserStorage();
    const muted = (chatId: string) => isMuted(storage, me.user_id, chatId);
    const open = new Map<string, Notification>(); // by chat
    const ringing = new Map<string, Notification>(); // by call id, while it rings

    const lastSeqs = () =>
      Object.fromEntries(Object.values(client.state.chats).map((chat) => [chat.chat_id, chat.last_seq ?? 0]));
    const away = () => document.hidden || !document.hasFocus();
    const closeAll = () => {
      for (const notification of open.values()) notification.close();
      open.clear();
      ringing.clear();
    };
    const onPageState = () => {
      gate.setAway(away(), lastSeqs);
      if (!gate.away) closeAll(); // back on the page: what they said is in front of the reader
    };

    const show = (content: NotificationContent): Notification | null => {
      if (Notification.permission !== "granted") return null;
      let notification: Notification;
      try {
        notification = new Notification(content.title, { body: content.body, tag: content.tag, lang: me.native_language });
      } catch {
        return null; // Android's Chrome allows them only through a service worker: none here
      }
      open.get(content.chatId)?.close();
      open.set(content.chatId, notification);
      notification.onclick = () => {
        window.focus();
        router.push(`/chats/${content.chatId}`);
        notification.close();
      };
      notification.onclose = () => {
        if (open.get(content.chatId) === notification) open.delete(content.chatId);
      };
      return notification;
    };

    let lastIncoming = client.getSnapshot().incoming;
    const offMessages = client.subscribe(() => {
      const { incoming, chat } = client.getSnapshot();
      if (incoming === lastIncoming) return;
      lastIncoming = incoming;
      if (!incoming) return;
      const content = gate.message({
        chatId: incoming.chatId,
        message: incoming.message,
        chat: chat.chats[incoming.chatId],
        members: chat.details[incoming.chatId]?.members,
        muted: muted(incoming.chatId),
      });
      if (content) show(content);
    });

    const onCalls = () => {
      const calls = incomingCalls(client.voice.getSnapshot().calls, me.user_id);
      for (const call of calls) {
        const content = gate.call({
          chatId: call.chatId,
          callId: call.callId,
          callerName: call.callerName,
          chat: client.state.chats[call.chatId],
        });
        const notification = content && show(content);
        if (notification) ringing.set(call.callId, notification);
      }
      // A call that stopped ringing (answered elsewhere, cancelled, missed) takes its
      // notification with it.
      for (const [callId, notification] of ringing) {
        if (calls.some((call) => call.callId === callId)) continue;
        ringing.delete(callId);
        notification.close();
      }
    };
    const offCalls = client.voice.subscribe(onCalls);

    onPageState();
    onCalls();
    document.addEventListener("visibilitychange", onPageState);
    window.addEventListener("focus", onPageState);
    window.addEventListener("blur", onPageState);
    return () => {
      offMessages();
      offCalls();
      document.removeEventListener("visibilitychange", onPageState);
      window.removeEventListener("focus", onPageState);
      window.removeEventListener("blur", onPageState);
      closeAll();
    };
  }, [client, me.user_id, me.native_language, router]);

  return null;
}
