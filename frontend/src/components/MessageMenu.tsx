"use client";

/**
 * Edit and delete for everyone, on a message bubble: a small "Message actions" button opens
 * Edit (the sender's own text message, within the edit window: the text becomes an editor in
 * place; Enter saves, Escape cancels) and Delete (the sender's own, or any in a group the
 * reader created; asks first). The change reaches everyone, this tab included, as
 * `message_edited` / `message_deleted`; a refusal is shown in words beside the bubble.
 */
import { useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from "react";
import { ApiError } from "@/lib/api";
import { messageActions } from "@/lib/messageChanges";
import type { Message } from "@/lib/types";
import { useClientSnapshot, useSession } from "./session";

type Mode = "idle" | "open" | "editing" | "confirming";

export function MessageMenu({ chatId, message, children }: { chatId: string; message: Message; children: ReactNode }) {
  const { api, me } = useSession();
  const detail = useClientSnapshot().chat.details[chatId];
  const [mode, setMode] = useState<Mode>("idle");
  const [draft, setDraft] = useState(message.text);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const toggle = useRef<HTMLButtonElement | null>(null);
  // When the menu was last opened: the edit window is judged then (the server judges again).
  const [now, setNow] = useState(() => Date.now());
  const { canEdit, canDelete } = messageActions(message, me.user_id, detail, now);

  const close = () => {
    setMode("idle");
    setError(null);
    toggle.current?.focus();
  };

  const run = async (change: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await change();
      setMode("idle");
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.detail : "That did not work; try again.");
    } finally {
      setBusy(false);
    }
  };

  const save = (event?: FormEvent) => {
    event?.preventDefault();
    const text = draft.trim();
    if (!text || busy) return;
    if (text === message.text) return close();
    void run(() => api.editMessage(chatId, message.seq, text));
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    } else if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      save();
    }
  };

  if (!canEdit && !canDelete) return <>{children}</>;

  return (
    <>
      {mode === "editing" ? (
        <form className="msg-edit" onSubmit={save} data-testid="message-editor">
          <textarea
            aria-label="Edit message"
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={onKeyDown}
            rows={Math.min(6, Math.max(1, draft.split("\n").length))}
            autoFocus
            disabled={busy}
          />
          <div className="msg-edit-actions">
            <button type="submit" className="link-btn" disabled={busy || !draft.trim()}>
              Save
            </button>
            <button type="button" className="link-btn" onClick={close}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        children
      )}
      {mode === "confirming" && (
        <div className="msg-confirm" role="group" aria-label="Delete for everyone?">
          <span>Delete for everyone?</span>
          <button type="button" className="link-btn danger" disabled={busy} onClick={() => void run(() => api.deleteMessage(chatId, message.seq))}>
            Delete
          </button>
          <button type="button" className="link-btn" onClick={close}>
            Cancel
          </button>
        </div>
      )}
      {error && (
        <p className="msg-change-error" role="alert">
          {error}
        </p>
      )}
      {mode !== "editing" && mode !== "confirming" && (
        <div className="msg-menu">
          <button
            ref={toggle}
            type="button"
            className="link-btn msg-menu-toggle"
            aria-label="Message actions"
            aria-expanded={mode === "open"}
            onClick={() => {
              setNow(Date.now());
              setMode(mode === "open" ? "idle" : "open");
            }}
            data-testid="message-actions"
          >
            <span aria-hidden="true">⋯</span>
          </button>
          {mode === "open" && (
            <>
              {canEdit && (
                <button
                  type="button"
                  className="link-btn"
                  onClick={() => {
                    setDraft(message.text);
                    setMode("editing");
                  }}
                >
                  Edit
                </button>
              )}
              {canDelete && (
                <button type="button" className="link-btn danger" onClick={() => setMode("confirming")}>
                  Delete
                </button>
              )}
            </>
          )}
        </div>
      )}
    </>
  );
}

/** The "edited" mark in a bubble's footer. */
export function EditedMark({ message }: { message: Message }) {
  if (!message.edited_at || message.deleted) return null;
  return (
    <span className="msg-edited" title={`Edited ${new Date(message.edited_at).toLocaleString()}`} data-testid="edited">
      edited
    </span>
  );
}

/** A message deleted for everyone: its place in the conversation, without its words. */
export function DeletedMessage({ message, mine, first, author }: { message: Message; mine: boolean; first: boolean; author: string }) {
  return (
    <li
      className={`msg ${mine ? "mine" : "theirs"}${first ? " first" : ""} deleted`}
      data-seq={message.seq}
      data-message-id={message.message_id}
      data-kind={message.kind ?? "text"}
      data-testid="message"
    >
      <span className="visually-hidden">{`${author}: `}</span>
      <div className="bubble">
        <p className="msg-text msg-deleted" data-testid="message-deleted">
          Message deleted
        </p>
      </div>
    </li>
  );
}
