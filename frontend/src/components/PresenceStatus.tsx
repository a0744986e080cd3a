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
