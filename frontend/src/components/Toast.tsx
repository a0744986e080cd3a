"use client";

/** Errors from the socket that belong to no message, in words, for a few seconds. */
import { useEffect } from "react";
import { useClientSnapshot, useSession } from "./session";

export function Toast() {
  const { client } = useSession();
  const { notice } = useClientSnapshot();

  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => client.dismissNotice(), 8000);
    return () => clearTimeout(timer);
  }, [notice, client]);

  return (
    <div className="toast-region" role="alert" aria-live="assertive">
      {notice && (
        <div className="toast">
          <span>{notice.text}</span>
          <button className="icon-btn" onClick={() => client.dismissNotice()} aria-label="Dismiss">
            ×
          </button>
        </div>
      )}
    </div>
  );
}
