"use client";

/**
 * The profile page's "Notifications": the one place the app asks the browser for permission
 * to show notifications, and only when the reader presses the button (never on load). Says
 * when the browser can't show them, or when they were blocked and how to unblock them.
 */
import { useState, useSyncExternalStore } from "react";

type Permission = NotificationPermission | "unsupported";

function permission(): Permission {
  return typeof window !== "undefined" && "Notification" in window ? Notification.permission : "unsupported";
}

/** The permission can change in the browser's site settings: read it again when the reader
 *  comes back to the tab, and when the browser says it changed. */
function subscribe(onChange: () => void): () => void {
  let status: PermissionStatus | null = null;
  let live = true;
  navigator.permissions
    ?.query({ name: "notifications" })
    .then((result) => {
      if (!live) return;
      status = result;
      status.addEventListener("change", onChange);
    })
    .catch(() => undefined);
  window.addEventListener("focus", onChange);
  document.addEventListener("visibilitychange", onChange);
  return () => {
    live = false;
    status?.removeEventListener("change", onChange);
    window.removeEventListener("focus", onChange);
    document.removeEventListener("visibilitychange", onChange);
  };
}

export function NotificationSettings() {
  const current = useSyncExternalStore(subscribe, permission, () => "unsupported" as Permission);
  const [asked, setAsked] = useState<Permission | null>(null);
  const [asking, setAsking] = useState(false);
  const state = asked && asked !== "default" ? asked : current;

  async function ask() {
    setAsking(true);
    try {
      setAsked(await Notification.requestPermission());
    } catch {
      setAsked(permission());
    } finally {
      setAsking(false);
    }
  }

  return (
    <>
      <hr />
      <section aria-labelledby="notifications-title" data-testid="notification-settings" data-permission={state}>
      <h2 id="notifications-title" className="h3">
        Notifications
      </h2>
      {state === "unsupported" && <p className="muted">This browser can&apos;t show notifications.</p>}
      {state === "default" && (
        <>
          <p className="hint">
            A new message or a call shows a notification while this tab is in the background, in your language. Your
            browser will ask you to allow them.
          </p>
          <button type="button" className="btn block" onClick={() => void ask()} disabled={asking}>
            Show notifications when this tab is in the background
          </button>
        </>
      )}
      {state === "denied" && (
        <p className="hint" role="status">
          Notifications are blocked for this site. To allow them, open the site settings from the icon at the left of
          the address bar, set Notifications to Allow, then reload this page.
        </p>
      )}
      {state === "granted" && (
        <p className="hint" role="status">
          On: a new message or a call shows a notification while this tab is in the background. You can mute a chat in
          its details.
        </p>
      )}
    </section>
    </>
  );
}
