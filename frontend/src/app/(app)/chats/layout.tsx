"use client";

import { usePathname } from "next/navigation";
import type { ReactNode } from "react";
import { Inbox } from "@/components/Inbox";

/**
 * Inbox beside the open chat on wide screens; one or the other on a phone. On /chats the list
 * of chats is the page's main content (on a phone it is all there is); in a chat the
 * conversation is, and the list beside it is complementary. The roles move rather than the
 * elements, so the inbox keeps its place and scroll between the two.
 */
export default function ChatsLayout({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  const inChat = pathname !== "/chats" && pathname.startsWith("/chats/");
  return (
    <div className={`shell${inChat ? " shell-chat-open" : ""}`} role={inChat ? undefined : "main"} id={inChat ? undefined : "main"}>
      <Inbox isMain={!inChat} />
      <div className="pane" role={inChat ? "main" : undefined} id={inChat ? "main" : undefined}>
        {children}
      </div>
    </div>
  );
}
