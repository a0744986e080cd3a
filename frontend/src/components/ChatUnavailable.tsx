import Link from "next/link";
import type { ApiError } from "@/lib/api";
import { PageTitle } from "./PageTitle";

/** A chat's page whose chat could not be loaded: gone (404, 403) or failed, in the backend's
 *  words, with the way back (and a retry where the page offers one and the chat is not gone). */
export function ChatUnavailable({ error, page, onRetry }: { error: ApiError; page: "chat" | "call"; onRetry?: () => void }) {
  const gone = error.status === 404 || error.status === 403;
  const heading = gone ? "Chat not available" : `Couldn't open this ${page}`;
  const back = (
    <Link className="btn" href="/chats">
      Back to chats
    </Link>
  );
  return (
    <div className="empty-pane" role="alert">
      <PageTitle title={heading} />
      <h1 className="h2">{heading}</h1>
      <p className="muted">{error.detail}</p>
      {onRetry ? (
        <div className="row">
          {!gone && (
            <button className="btn primary" onClick={onRetry}>
              Try again
            </button>
          )}
          {back}
        </div>
      ) : (
        back
      )}
    </div>
  );
}
