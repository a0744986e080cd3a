"use client";

/**
 * In a chat's details: mute this chat's browser notifications, on this device only
 * (lib/mutedChats.ts keeps it in this browser's storage).
 */
import { useCallback, useState, useSyncExternalStore } from "react";
import { isMuted, mutedKey, onMutedChange, setMuted } from "@/lib/mutedChats";
import { useSession } from "./session";

function browserStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export function ChatMute({ chatId }: { chatId: string }) {
  const { me } = useSession();
  const [failed, setFailed] = useState(false);
  const subscribe = useCallback(
    (onChange: () => void) => {
      // Another tab of this browser muting the chat changes this one's checkbox too.
      const onStorage = (event: StorageEvent) => {
        if (event.key === mutedKey(me.user_id)) onChange();
      };
      window.addEventListener("storage", onStorage);
      const off = onMutedChange(onChange);
      return () => {
        window.removeEventListener("storage", onStorage);
        off();
      };
    },
    [me.user_id],
  );
  const muted = useSyncExternalStore(
    subscribe,
    () => isMuted(browserStorage(), me.user_id, chatId),
    () => false,
  );

  return (
    <div>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={muted}
          aria-describedby="chat-mute-hint"
          onChange={(event) => setFailed(!setMuted(browserStorage(), me.user_id, chatId, event.target.checked))}
        />{" "}
        Mute notifications
      </label>
      <p className="hint" id="chat-mute-hint">
        On this device: no notifications for this chat&apos;s messages and calls while the tab is in the background.
      </p>
      {failed && <p className="field-error">This browser didn&apos;t let us save that.</p>}
    </div>
  );
}
