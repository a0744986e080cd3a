"use client";

import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useId, useMemo, useRef, useState, type FormEvent } from "react";
import { ApiError } from "@/lib/api";
import { chatList } from "@/lib/chatState";
import { initials, shortTime } from "@/lib/format";
import { chatTitle, fullName } from "@/lib/names";
import type { ChatSummary } from "@/lib/types";
import { useClientSnapshot, useSession } from "./session";
import { Avatar } from "./Avatar";
import { Brand } from "./Brand";
import { ConnectionStatus } from "./ConnectionStatus";
import { ClockIcon } from "./Icons";
import { FormError } from "./FormError";
import { InboxSearch } from "./InboxSearch";
import { useListWindow } from "./listWindow";

/** The list of chats: the page's main content at /chats (`isMain`, with its level-one heading),
 *  a complementary landmark beside an open chat. */
export function Inbox({ isMain }: { isMain: boolean }) {
  const { me } = useSession();
  const snapshot = useClientSnapshot();
  const pathname = usePathname();
  const [composing, setComposing] = useState(false);
  const chats = useMemo(() => chatList(snapshot.chat), [snapshot.chat]);
  const pendingByChat = new Map<string, number>();
  for (const item of snapshot.outbox) pendingByChat.set(item.chat_id, (pendingByChat.get(item.chat_id) ?? 0) + 1);
  const name = fullName(me);
  // Only the chats near the viewport are rendered (listWindow.ts): an inbox can hold hundreds.
  const scrollRef = useRef<HTMLElement>(null);
  const keys = useMemo(() => chats.map((chat) => chat.chat_id), [chats]);
  const { range, spacerRef, itemsRef, onScroll } = useListWindow(scrollRef, keys, { estimate: 72 });

  return (
    <div className="sidebar" role={isMain ? undefined : "complementary"} aria-label={isMain ? undefined : "Chats"}>
      {isMain ? <h1 className="visually-hidden">Chats</h1> : <h2 className="visually-hidden">Chats</h2>}
      <div className="sidebar-header">
        <Brand href="/chats" />
        <Link href="/profile" className="profile-link" aria-label={`Your profile: ${name}, initials ${initials(name)}`} title="Your profile">
          <Avatar name={name} size={34} />
        </Link>
      </div>
      <div className="sidebar-sub">
        <ConnectionStatus />
      </div>
      <div className="sidebar-actions">
        <button
          type="button"
          className="btn primary block"
          aria-expanded={composing}
          aria-controls="new-chat-panel"
          onClick={() => setComposing((v) => !v)}
        >
          {composing ? "Close" : "New chat"}
        </button>
      </div>
      {composing && <NewChatPanel onDone={() => setComposing(false)} />}
      <InboxSearch />
      <nav aria-label="Conversations" className="chat-list-wrap" ref={scrollRef} onScroll={onScroll}>
        {!snapshot.chat.chatsLoaded ? (
          <p className="muted pad">Loading chats…</p>
        ) : chats.length === 0 ? (
          <div className="pad muted">
            <p>No conversations yet.</p>
            <p>Start one with someone&apos;s username: they&apos;ll read what you write in their own language.</p>
          </div>
        ) : (
          <>
          <div ref={spacerRef} className="rows-spacer" style={{ height: range.before }} aria-hidden="true" />
          <ul className="chat-list" ref={itemsRef}>
            {chats.slice(range.start, range.end).map((chat, i) => {
              const href = `/chats/${chat.chat_id}`;
              const active = pathname === href || pathname.startsWith(`${href}/`);
              const title = chatTitle(chat);
              const unread = chat.unread_count ?? 0;
              const pending = pendingByChat.get(chat.chat_id) ?? 0;
              const typing = Object.keys(snapshot.chat.threads[chat.chat_id]?.typing ?? {}).length > 0;
              return (
                <li key={chat.chat_id} aria-setsize={chats.length} aria-posinset={range.start + i + 1}>
                  <Link
                    href={href}
                    className={`chat-item${active ? " active" : ""}${unread ? " unread" : ""}`}
                    aria-current={active ? "page" : undefined}
                    data-testid="chat-item"
                  >
                    <Avatar name={title} group={chat.kind === "group"} />
                    <span className="chat-item-body">
                      <span className="chat-item-top">
                        <span className="chat-item-title">
                          {title}
                          {chat.kind === "group" && <span className="tag">Group</span>}
                        </span>
                        <time className="chat-item-time" dateTime={chat.updated_at}>
                          {shortTime(chat.updated_at)}
                        </time>
                      </span>
                      <span className="chat-item-bottom">
                        <span className="chat-item-preview" dir="auto">
                          {typing ? (
                            <em className="accent-text">typing…</em>
                          ) : pending ? (
                            <span>
                              <ClockIcon />{" "}
                              {pending === 1 ? "1 message waiting to send" : `${pending} messages waiting to send`}
                            </span>
                          ) : (
                            chat.last_message_preview || <span className="muted">No messages yet</span>
                          )}
                        </span>
                        {unread > 0 && (
                          <span className="badge" aria-label={`${unread} unread ${unread === 1 ? "message" : "messages"}`} data-testid="unread-badge">
                            {unread > 99 ? "99+" : unread}
                          </span>
                        )}
                      </span>
                    </span>
                  </Link>
                </li>
              );
            })}
          </ul>
          <div className="rows-spacer" style={{ height: range.after }} aria-hidden="true" />
          </>
        )}
      </nav>
    </div>
  );
}

function NewChatPanel({ onDone }: { onDone: () => void }) {
  const { client, me } = useSession();
  const router = useRouter();
  const [mode, setMode] = useState<"direct" | "group">("direct");
  const [username, setUsername] = useState("");
  const [title, setTitle] = useState("");
  const [members, setMembers] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const firstField = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    let created: ChatSummary;
    setBusy(true);
    try {
      if (mode === "direct") {
        const name = username.trim().replace(/^@/, "");
        if (!name) throw new ApiError(0, "Enter a username.");
        if (name.toLowerCase() === me.username.toLowerCase()) throw new ApiError(0, "That's you: pick someone else's username.");
        created = await client.createDirect(name);
      } else {
        const names = members
          .split(/[\s,;]+/)
          .map((n) => n.trim().replace(/^@/, ""))
          .filter(Boolean);
        if (!title.trim()) throw new ApiError(0, "Give the group a name.");
        if (names.length < 2) throw new ApiError(0, "A group needs at least two other people.");
        created = await client.createGroup(title.trim(), names);
      }
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : String(err));
      setBusy(false);
      return;
    }
    setBusy(false);
    onDone();
    router.push(`/chats/${created.chat_id}`);
  }

  return (
    <section id="new-chat-panel" className="new-chat" aria-label="Start a conversation">
      <div className="segmented" role="group" aria-label="Conversation type">
        <button type="button" aria-pressed={mode === "direct"} onClick={() => setMode("direct")}>
          Person
        </button>
        <button type="button" aria-pressed={mode === "group"} onClick={() => setMode("group")}>
          Group
        </button>
      </div>
      <form onSubmit={submit} noValidate>
        {mode === "direct" ? (
          <div className="field">
            <label htmlFor={`${id}-user`}>Their username</label>
            <input
              ref={firstField}
              id={`${id}-user`}
              autoFocus
              autoCapitalize="none"
              spellCheck={false}
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              placeholder="e.g. bruno"
            />
          </div>
        ) : (
          <>
            <div className="field">
              <label htmlFor={`${id}-title`}>Group name</label>
              <input id={`${id}-title`} autoFocus value={title} maxLength={100} onChange={(e) => setTitle(e.target.value)} placeholder="e.g. Trip to Lisbon" />
            </div>
            <div className="field">
              <label htmlFor={`${id}-members`}>Usernames</label>
              <input
                id={`${id}-members`}
                autoCapitalize="none"
                spellCheck={false}
                value={members}
                onChange={(e) => setMembers(e.target.value)}
                placeholder="bruno, chloe"
                aria-describedby={`${id}-members-hint`}
              />
              <p className="hint" id={`${id}-members-hint`}>
                At least two people, separated by commas or spaces.
              </p>
            </div>
          </>
        )}
        <FormError message={error} />
        <button className="btn primary block" type="submit" disabled={busy}>
          {busy ? "Starting…" : mode === "direct" ? "Start chat" : "Create group"}
        </button>
      </form>
    </section>
  );
}
