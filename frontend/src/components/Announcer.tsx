"use client";

/**
 * Screen readers hear new messages from others: the whole message in the chat on screen,
 * "New message in …" elsewhere. (The message list itself is not a live region, so streaming
 * translations don't make it chatter.)
 */
import { useState } from "react";
import { shortName } from "@/lib/names";
import { useClientSnapshot, useSession } from "./session";

export function Announcer() {
  const { client } = useSession();
  const { incoming, chat } = useClientSnapshot();
  const [text, setText] = useState("");
  // Worded once, when the message comes: what changes afterwards (the chat in focus, its
  // members) must not change the live region, or it would be read out again.
  const [announced, setAnnounced] = useState<typeof incoming>(null);
  if (incoming && incoming !== announced) {
    setAnnounced(incoming);
    const { chatId, message } = incoming;
    const sender = chat.details[chatId]?.members.find((m) => m.user_id === message.from_user_id);
    const who = sender ? shortName(sender) : client.chatName(chatId);
    setText(chat.focusedChatId === chatId ? `${who}: ${message.text}` : `New message from ${who} in ${client.chatName(chatId)}`);
  }

  return (
    <div className="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
      {text}
    </div>
  );
}
