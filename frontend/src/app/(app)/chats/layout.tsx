"use client";

import { usePathname } from "next/navigation";
import type { ReactNode } from "react";
import { Inbox } from "@/components/Inbox";

/** Inbox beside the open chat on wide screens; one or the other on a phone. */
export default function ChatsLayout({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  const inChat = pathname !== "/chats" && pathname.startsWith("/chats/");
  return (
    <div className={`shell${inChat ? " shell-chat-open" : ""}`}>
      <Inbox />
      <main id="main" className="pane">
        {children}
      </main>
    </div>
  );
}
