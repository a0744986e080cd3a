"use client";

import Link from "next/link";
import { useParams } from "next/navigation";
import { useEffect, useState } from "react";
import { useClientSnapshot, useSession } from "@/components/AppSession";
import { PhoneIcon } from "@/components/Icons";
import { chatTitle } from "@/components/Inbox";
import { ApiError } from "@/lib/api";
import { LIVEKIT_URL } from "@/lib/config";

type CallState =
  | { kind: "loading" }
  | { kind: "ready"; room: string }
  | { kind: "unavailable"; detail: string }
  | { kind: "error"; detail: string };

/** Voice calls are coming: this asks the backend for a call token and says where things stand. */
export default function CallPage() {
  const { id } = useParams<{ id: string }>();
  const { api } = useSession();
  const { chat } = useClientSnapshot();
  const summary = chat.chats[id];
  const [state, setState] = useState<CallState>({ kind: "loading" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let live = true;
    setState({ kind: "loading" });
    api
      .voiceToken(id)
      .then((reply) => live && setState({ kind: "ready", room: reply.room_name }))
      .catch((error: unknown) => {
        if (!live) return;
        const err = error instanceof ApiError ? error : new ApiError(0, String(error));
        if (err.status === 404 && err.detail === "Not found") {
          setState({ kind: "unavailable", detail: "Voice calls aren't available on this server yet." });
        } else if (err.status === 501 || err.status === 503) {
          setState({ kind: "unavailable", detail: err.detail });
        } else {
          setState({ kind: "error", detail: err.detail });
        }
      });
    return () => {
      live = false;
    };
  }, [api, id, attempt]);

  const name = summary ? chatTitle(summary) : "this chat";

  return (
    <div className="empty-pane call-pane" aria-live="polite">
      <div className="call-icon">
        <PhoneIcon size={44} />
      </div>
      <h1 className="h2">Voice call with {name}</h1>
      {state.kind === "loading" && <p className="muted">Setting up the call…</p>}
      {state.kind === "unavailable" && (
        <div className="banner info" role="status" data-testid="call-status">
          <strong>Coming soon.</strong> {state.detail} You&apos;ll be able to talk here, each in your own language, once
          voice is switched on.
        </div>
      )}
      {state.kind === "error" && (
        <div className="banner error" role="alert" data-testid="call-status">
          Couldn&apos;t start the call: {state.detail}
          <div className="row">
            <button className="btn" onClick={() => setAttempt((n) => n + 1)}>
              Try again
            </button>
          </div>
        </div>
      )}
      {state.kind === "ready" && (
        <div className="banner info" role="status" data-testid="call-status">
          The server is ready for a call in room <code>{state.room}</code>
          {LIVEKIT_URL ? "" : " (no NEXT_PUBLIC_LIVEKIT_URL configured)"}. Calling from the browser arrives with the voice
          feature.
        </div>
      )}
      <Link className="btn" href={`/chats/${id}`}>
        Back to the chat
      </Link>
    </div>
  );
}
