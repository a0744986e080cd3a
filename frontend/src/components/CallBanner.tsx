"use client";

/**
 * An incoming call, on whichever page of the app is open: who calls, in which chat, Accept
 * (opens the call page) or Decline. The chat's own conversation and call page show the call
 * themselves, so the banner stays away from those.
 */
import { usePathname, useRouter } from "next/navigation";
import { useState } from "react";
import { incomingCalls, type Call } from "@/lib/callState";
import { chatTitle } from "@/lib/names";
import { useClientSnapshot, useSession, useVoiceSnapshot } from "./session";
import { Avatar } from "./Avatar";
import { PhoneIcon, PhoneOffIcon } from "./Icons";

export function CallBanner() {
  const { me } = useSession();
  const voice = useVoiceSnapshot();
  const pathname = usePathname();
  const calls = incomingCalls(voice.calls, me.user_id).filter(
    (call) => pathname !== `/chats/${call.chatId}` && pathname !== `/chats/${call.chatId}/call`,
  );
  const [announced, setAnnounced] = useState("");
  const first = calls[0];

  // Worded when the first ringing call (or its caller's name) changes; kept while it rings.
  const firstKey = first ? `${first.callId} ${first.callerName ?? ""}` : null;
  const [announcedKey, setAnnouncedKey] = useState<string | null>(null);
  if (first && firstKey !== announcedKey) {
    setAnnouncedKey(firstKey);
    setAnnounced(`Incoming call from ${first.callerName || "someone"}`);
  }

  return (
    <>
      <div className="visually-hidden" role="status" aria-live="assertive">
        {calls.length ? announced : ""}
      </div>
      {calls.length > 0 && (
        <div className="call-banner-region">
          {calls.map((call) => (
            <IncomingCall key={call.callId} call={call} />
          ))}
        </div>
      )}
    </>
  );
}

export function IncomingCall({ call, compact = false }: { call: Call; compact?: boolean }) {
  const { client } = useSession();
  const router = useRouter();
  const snapshot = useClientSnapshot();
  const voice = useVoiceSnapshot();
  const chat = snapshot.chat.chats[call.chatId];
  const group = chat?.kind === "group";
  const caller = call.callerName || "Someone";
  const accepting = voice.calls.pending[call.chatId]?.action === "accept";
  const titleId = `incoming-${call.callId}`;

  return (
    <section className={`incoming-call${compact ? " compact" : ""}`} role="dialog" aria-modal="false" aria-labelledby={titleId} data-testid="incoming-call">
      <span className="ring-icon" aria-hidden="true">
        <PhoneIcon size={20} />
      </span>
      {!compact && <Avatar name={caller} size={40} />}
      <div className="incoming-text">
        <p id={titleId} className="incoming-title">
          {caller} is calling…
        </p>
        {group && chat && <p className="muted small">in {chatTitle(chat)}</p>}
      </div>
      <div className="incoming-actions">
        <button
          type="button"
          className="btn accept"
          disabled={accepting}
          onClick={() => {
            if (client.voice.accept(call.chatId)) router.push(`/chats/${call.chatId}/call`);
          }}
        >
          <PhoneIcon size={18} />
          {accepting ? "Joining…" : "Accept"}
        </button>
        <button type="button" className="btn decline" onClick={() => client.voice.decline(call.chatId)}>
          <PhoneOffIcon size={18} />
          Decline
        </button>
      </div>
    </section>
  );
}
