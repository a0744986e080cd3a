"use client";

/**
 * The profile page's "Your data": download everything of yours (the same export the
 * operators' `export_user_data` makes) and delete your account, after typing your password
 * again. Deleting signs this browser out to the login page.
 */
import { useState, type FormEvent } from "react";
import { useSession } from "@/components/session";
import { FormError } from "@/components/FormError";
import { ApiError, type Download } from "@/lib/api";

export const ACCOUNT_DELETED = "Your account and your data were deleted.";

function problem(err: unknown): string {
  return err instanceof ApiError ? err.detail : err instanceof Error ? err.message : String(err);
}

/** Hands the file to the browser as a download. */
export function saveDownload({ blob, filename }: Download): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Revoked later: some browsers read the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function YourData() {
  const { api, client, logout } = useSession();
  const [downloading, setDownloading] = useState(false);
  const [downloaded, setDownloaded] = useState<string | null>(null);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [password, setPassword] = useState("");
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);

  async function download() {
    setDownloadError(null);
    setDownloaded(null);
    setDownloading(true);
    try {
      const file = await api.exportMyData();
      saveDownload(file);
      setDownloaded(`Saved ${file.filename}.`);
    } catch (err) {
      setDownloadError(`Couldn't download your data: ${problem(err)}`);
    } finally {
      setDownloading(false);
    }
  }

  async function deleteAccount(event: FormEvent) {
    event.preventDefault();
    setDeleteError(null);
    if (!password) {
      setDeleteError("Type your password to confirm.");
      return;
    }
    setDeleting(true);
    // The server closes every socket of the account while answering: stopped first, so this
    // tab does not take that for an expired session.
    client.stop();
    try {
      await api.deleteAccount(password);
    } catch (err) {
      // A 401 has already ended the session (api.ts); anything else leaves it working.
      if (!(err instanceof ApiError && err.status === 401)) client.start();
      setDeleteError(problem(err));
      setDeleting(false);
      return;
    }
    client.forgetLocalData();
    logout(ACCOUNT_DELETED);
  }

  return (
    <section className="your-data" aria-labelledby="your-data-title">
      <h2 id="your-data-title" className="h3">
        Your data
      </h2>
      <p className="hint">
        Download a copy of your account, your chats and every message you wrote, with its translations.
      </p>
      <button type="button" className="btn block" onClick={download} disabled={downloading}>
        {downloading ? "Preparing your data…" : "Download my data"}
      </button>
      {downloaded && (
        <p className="form-success" role="status">
          {downloaded}
        </p>
      )}
      <FormError message={downloadError} testId="download-error" />
      {!confirming ? (
        <button type="button" className="btn block danger-outline" onClick={() => setConfirming(true)}>
          Delete my account
        </button>
      ) : (
        <form onSubmit={deleteAccount} noValidate aria-labelledby="delete-account-title">
          <h3 id="delete-account-title" className="h3">
            Delete my account
          </h3>
          <p className="hint" id="delete-account-hint">
            This can&apos;t be undone. Your profile and username go, and you leave every chat. Messages you wrote stay
            in place for the others as &ldquo;[message deleted]&rdquo;. Download your data first if you want a copy.
          </p>
          <div className="field">
            <label htmlFor="delete-account-password">Your password</label>
            <input
              id="delete-account-password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(event) => setPassword(event.target.value)}
              aria-describedby="delete-account-hint"
              disabled={deleting}
              required
            />
          </div>
          <FormError message={deleteError} testId="delete-account-error" />
          <button type="submit" className="btn block danger-outline" disabled={deleting}>
            {deleting ? "Deleting…" : "Delete my account for good"}
          </button>
          <button
            type="button"
            className="btn block"
            disabled={deleting}
            onClick={() => {
              setConfirming(false);
              setPassword("");
              setDeleteError(null);
            }}
          >
            Cancel
          </button>
        </form>
      )}
    </section>
  );
}
