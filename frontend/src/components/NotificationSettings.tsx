"use client";

/**
 * The profile page's "Notifications": the one place the app asks the browser for permission
 * to show notifications, and only when the reader presses the button (never on load). Says
 * when the browser can't show them, or when they were blocked and how to unblock them.
 */
import { useEffect, useState, useSyncExternalStore } from "react";
import { browserForPush, webPushDisable, webPushEnable, webPushState, type PushState } from "@/lib/webPush";
import { useSession } from "./session";

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
      {state !== "unsupported" && state !== "denied" && <ClosedAppNotifications />}
    </section>
    </>
  );
}

const PUSH_STATE_TEXT: Partial<Record<PushState, string>> = {
  on: "On: new messages reach this browser while Commonality is closed.",
  denied: "Notifications are blocked for this site, so this browser can't be told either.",
};

/** Web Push: messages while no tab of the app is open (lib/webPush.ts). Shown only when both
 *  this browser and the server can do it. */
function ClosedAppNotifications() {
  const { api } = useSession();
  const [pushState, setPushState] = useState<PushState | null>(null);
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    let live = true;
    webPushState(browserForPush(), api)
      .then((found) => live && setPushState(found))
      .catch(() => live && setPushState("unavailable"));
    return () => {
      live = false;
    };
  }, [api]);

  if (pushState === null || pushState === "unsupported" || pushState === "unavailable") return null;

  async function toggle(on: boolean) {
    setBusy(true);
    setFailed(false);
    try {
      setPushState(await (on ? webPushEnable : webPushDisable)(browserForPush(), api));
    } catch {
      setFailed(true);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="field" data-testid="web-push-setting" data-push-state={pushState}>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={pushState === "on"}
          disabled={busy}
          onChange={(event) => void toggle(event.target.checked)}
        />
        Also when Commonality is closed
      </label>
      {PUSH_STATE_TEXT[pushState] && (
        <p className="hint" role="status">
          {PUSH_STATE_TEXT[pushState]}
        </p>
      )}
      {failed && (
        <p className="error" role="alert">
          This browser could not be signed up for notifications. Try again later.
        </p>
      )}
    </div>
  );
}
