"use client";

/** Connected / reconnecting / offline, always visible; "Retry now" skips the wait.
 * (Changes are announced once, by ConnectionAnnouncer, not by every copy of this.) */
import { useState } from "react";
import { useClientSnapshot, useSession } from "./session";
import { useNow } from "./hooks";

export function ConnectionStatus({ compact = false }: { compact?: boolean }) {
  const { client } = useSession();
  const { connection } = useClientSnapshot();
  const now = useNow(connection.status === "reconnecting");
  const seconds = connection.nextRetryAt ? Math.max(0, Math.ceil((connection.nextRetryAt - now) / 1000)) : null;

  let label: string;
  let detail = "";
  switch (connection.status) {
    case "connected":
      label = "Connected";
      break;
    case "connecting":
      label = "Connecting…";
      break;
    case "reconnecting":
      label = "Reconnecting…";
      detail = seconds ? `retrying in ${seconds}s` : "";
      break;
    case "offline":
      label = "Offline";
      detail = "messages will be sent when you're back online";
      break;
    default:
      label = "Disconnected";
  }

  return (
    <div className={`conn conn-${connection.status}`} data-testid="connection-status" data-status={connection.status}>
      <span className="conn-dot" aria-hidden="true" />
      <span className={compact && connection.status === "connected" ? "visually-hidden" : undefined}>{label}</span>
      {detail && !compact && <span className="conn-detail">· {detail}</span>}
      {connection.status === "reconnecting" && (
        <button type="button" className="link-btn" onClick={() => client.socket.reconnectNow()}>
          Retry now
        </button>
      )}
    </div>
  );
}

/** Tells screen readers when the connection drops and comes back (not the first connect). */
export function ConnectionAnnouncer() {
  const { connection } = useClientSnapshot();
  const [text, setText] = useState("");
  const [previous, setPrevious] = useState(connection.status);
  if (previous !== connection.status) {
    setPrevious(connection.status);
    const now = connection.status;
    if (now === "offline") setText("You're offline. Messages you write will be sent when you're back online.");
    else if (now === "reconnecting" && previous === "connected") setText("Connection lost. Reconnecting.");
    else if (now === "connected" && (previous === "reconnecting" || previous === "offline")) setText("Connected again.");
  }
  return (
    <div className="visually-hidden" role="status" aria-live="polite">
      {text}
    </div>
  );
}
