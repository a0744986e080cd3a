"use client";

/** The profile page's "Show when I'm online": saved as soon as it is switched. Off, nobody sees
 *  when you are online or when you were last seen, and you don't see others' last seen. */
import { useState } from "react";
import { ApiError } from "@/lib/api";
import { FormError } from "./FormError";
import { useSession } from "./session";

export function PresenceSetting() {
  const { me, api, setMe } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const visible = me.presence_visible !== false;

  async function toggle() {
    setBusy(true);
    setError(null);
    try {
      setMe(await api.updateMe({ presence_visible: !visible }));
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <hr />
      <section aria-labelledby="presence-title" data-testid="presence-setting">
        <h2 id="presence-title" className="h3">
          Privacy
        </h2>
        <div className="field">
          <label className="checkbox">
            <input type="checkbox" checked={visible} disabled={busy} onChange={toggle} aria-describedby="presence-hint" />{" "}
            Show when I&apos;m online
          </label>
        </div>
        <p id="presence-hint" className="hint">
          Off: nobody sees when you&apos;re online or when you were last seen, and you don&apos;t see when others were last seen.
        </p>
        <FormError message={error} testId="presence-setting-error" />
      </section>
    </>
  );
}
