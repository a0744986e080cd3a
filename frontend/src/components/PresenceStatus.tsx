"use client";

/** A 1:1 conversation's "online" / "last seen 5 minutes ago" under the other person's name.
 *  Not a live region: the minutes ticking by would be read out again and again. */
import { usePresenceText } from "./presenceHooks";

export function PresenceStatus({ userId }: { userId: string | undefined }) {
  const text = usePresenceText(userId);
  if (!text) return null;
  return (
    <span className={`conv-presence${text === "online" ? " online" : ""}`} data-testid="presence-status">
      {text}
    </span>
  );
}

/** A group member's presence in the details panel: a dot while they are online (said in words
 *  to screen readers), "last seen …" in small text otherwise, nothing when unknown or hidden. */
export function PresenceDot({ userId }: { userId: string }) {
  const text = usePresenceText(userId);
  if (!text) return null;
  if (text !== "online") return <span className="presence-seen muted">{text}</span>;
  return (
    <span className="presence-dot" data-testid="presence-dot" title="online">
      <span className="visually-hidden">online</span>
    </span>
  );
}
