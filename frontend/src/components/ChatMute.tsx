"use client";

/**
 * In a chat's details: mute this chat's message notifications for this person, on every
 * device of theirs. The server keeps it (each chat summary's `muted`) and sends no Web Push
 * for the chat's messages; their other devices follow through `chat_muted`. Calls still ring.
 */
import { useState } from "react";
import { ApiError, NETWORK_ERROR } from "@/lib/api";
import { useClientSnapshot, useSession } from "./session";

export function ChatMute({ chatId }: { chatId: string }) {
  const { client } = useSession();
  const { chat } = useClientSnapshot();
  // The choice shows at once while the server stores it; a refusal puts the box back.
  const [pending, setPending] = useState<boolean | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const muted = pending ?? chat.chats[chatId]?.muted ?? false;

  const choose = async (next: boolean) => {
    setPending(next);
    setFailure(null);
    try {
      await client.setMuted(chatId, next);
    } catch (error) {
      setFailure(error instanceof ApiError ? error.detail : NETWORK_ERROR);
    } finally {
      setPending(null);
    }
  };

  return (
    <div>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={muted}
          disabled={pending !== null}
          aria-describedby="chat-mute-hint"
          onChange={(event) => void choose(event.target.checked)}
        />{" "}
        Mute notifications
      </label>
      <p className="hint" id="chat-mute-hint">
        On all your devices: no notifications for this chat&apos;s messages, in the background or while Commonality is closed. Calls still ring.
      </p>
      {failure && (
        <p className="field-error" role="alert">
          {failure}
        </p>
      )}
    </div>
  );
}
