"use client";

/**
 * The chat's call, above its messages: calling (Cancel), ringing for me (Accept, Decline),
 * or going on (who is in it, for how long; Open call, Hang up or Join).
 */
import Link from "next/link";
import { callStatusText, inCallHere, liveCall } from "@/lib/callState";
import { useSession, useVoiceSnapshot } from "./session";
import { IncomingCall } from "./CallBanner";
import { useNameOf, useNow } from "./hooks";
import { PhoneOffIcon } from "./Icons";

export function CallStrip({ chatId }: { chatId: string }) {
  const { client, me } = useSession();
  const voice = useVoiceSnapshot();
  const nameOf = useNameOf(chatId);
  const call = liveCall(voice.calls, chatId);
  const here = inCallHere(voice.calls, chatId);
  const now = useNow(call?.phase === "active");
  if (!call) return null;

  const incoming = call.phase === "ringing" && call.callerId !== me.user_id && !call.participants.includes(me.user_id) && !call.declined.includes(me.user_id);
  if (incoming) {
    return (
      <div className="call-strip ringing">
        <IncomingCall call={call} compact />
      </div>
    );
  }
  const who = call.participants.map(nameOf).join(", ");
  const joinable = call.phase === "active" && !call.participants.includes(me.user_id);
  return (
    <div className={`call-strip ${call.phase}`} data-testid="call-strip" data-phase={call.phase}>
      <span className="call-dot" aria-hidden="true" />
      <p className="call-strip-text" role="status">
        <strong>{callStatusText(call, me.user_id, nameOf, now, here)}</strong>
        {call.phase === "active" && <span className="muted"> · {who}</span>}
      </p>
      <div className="row">
        <Link className="btn small" href={`/chats/${chatId}/call`}>
          Open call
        </Link>
        {joinable ? (
          <button
            type="button"
            className="btn small accept"
            onClick={() => client.voice.accept(chatId)}
          >
            Join
          </button>
        ) : (
          call.participants.includes(me.user_id) && (
            <button type="button" className="btn small decline" onClick={() => client.voice.hangUp(chatId)}>
              <PhoneOffIcon size={16} />
              {call.phase === "ringing" ? "Cancel" : "Hang up"}
            </button>
          )
        )}
      </div>
    </div>
  );
}
