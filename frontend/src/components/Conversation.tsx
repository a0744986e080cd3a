"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { ApiError } from "@/lib/api";
import type { StreamingMessage } from "@/lib/chatState";
import { dayKey, dayLabel } from "@/lib/format";
import { languageName, nativeLanguageName, useLanguages } from "@/lib/languages";
import type { OutboxItem } from "@/lib/outbox";
import type { Member, Message } from "@/lib/types";
import { liveCall } from "@/lib/callState";
import { uploadContentType } from "@/lib/recording";
import { useClientSnapshot, useSession, useVoiceSnapshot } from "./session";
import { CallStrip } from "./CallStrip";
import { Avatar } from "./Avatar";
import { Composer } from "./Composer";
import { PhoneIcon } from "./Icons";
import { ConnectionStatus } from "./ConnectionStatus";
import { chatTitle } from "./Inbox";
import { CallRecord, MessageBubble, OutgoingBubble, StreamingBubble, type Delivery } from "./MessageBubble";
import { FormError } from "./FormError";
import { useChatInFocus } from "./hooks";

const NEAR_BOTTOM_PX = 80;

type Row =
  | { kind: "day"; key: string; label: string }
  | { kind: "unread"; key: string }
  | { kind: "message"; key: string; message: Message; first: boolean }
  | { kind: "streaming"; key: string; streaming: StreamingMessage; first: boolean }
  | { kind: "outgoing"; key: string; item: OutboxItem; first: boolean };

function displayName(member: Member | undefined): string {
  if (!member) return "Someone";
  return member.first_name || member.username;
}

export function Conversation({ chatId }: { chatId: string }) {
  const { client, me } = useSession();
  const router = useRouter();
  const snapshot = useClientSnapshot();
  const voice = useVoiceSnapshot();
  const { languages } = useLanguages();
  const chat = snapshot.chat.chats[chatId];
  const call = liveCall(voice.calls, chatId);
  const detail = snapshot.chat.details[chatId];
  const thread = snapshot.chat.threads[chatId];
  const outgoing = useMemo(() => snapshot.outbox.filter((item) => item.chat_id === chatId), [snapshot.outbox, chatId]);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [showInfo, setShowInfo] = useState(false);
  const [originals, setOriginals] = useState<Set<string>>(() => new Set());
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderError, setOlderError] = useState<string | null>(null);
  const [jumpVisible, setJumpVisible] = useState(false);
  const listRef = useRef<HTMLDivElement>(null);
  const topRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const prependFrom = useRef<number | null>(null);
  const initialRead = useRef<number | null>(null);
  const visibleSeqs = useRef(new Set<number>());

  // Load members and newest messages.
  useEffect(() => {
    let live = true;
    setLoadError(null);
    client.openChat(chatId).catch((error: unknown) => {
      if (live) setLoadError(error instanceof ApiError ? error : new ApiError(0, String(error)));
    });
    return () => {
      live = false;
    };
  }, [client, chatId, attempt]);

  // Keep this chat's call state current while it is on screen.
  useEffect(() => client.voice.watch(chatId), [client, chatId]);

  useChatInFocus(client, chatId);

  if (initialRead.current === null && chat && thread?.loaded) initialRead.current = chat.last_read_seq ?? 0;

  const members = useMemo(() => new Map((detail?.members ?? []).map((m) => [m.user_id, m])), [detail]);
  const isGroup = chat?.kind === "group";
  const other = !isGroup ? detail?.members.find((m) => m.user_id !== me.user_id) : undefined;
  const otherName = other ? `${other.first_name} ${other.last_name}`.trim() : "";
  const title = chat ? (otherName || chatTitle(chat)) : "";

  // --- rows ------------------------------------------------------------------------------------
  const rows = useMemo(() => {
    const out: Row[] = [];
    let lastDay = "";
    let lastSender = "";
    let lastTime = 0;
    let unreadPlaced = false;
    const startRun = (sender: string, timestamp: string) => {
      const t = new Date(timestamp).getTime();
      const first = sender !== lastSender || t - lastTime > 5 * 60_000;
      lastSender = sender;
      lastTime = t;
      return first;
    };
    const addDay = (timestamp: string) => {
      const key = dayKey(timestamp);
      if (key !== lastDay) {
        lastDay = key;
        lastSender = "";
        out.push({ kind: "day", key: `day-${key}`, label: dayLabel(timestamp) });
      }
    };
    for (const message of thread?.messages ?? []) {
      addDay(message.timestamp);
      const readMark = initialRead.current;
      if (!unreadPlaced && readMark !== null && readMark > 0 && message.seq > readMark && message.from_user_id !== me.user_id) {
        unreadPlaced = true;
        lastSender = "";
        out.push({ kind: "unread", key: "unread" });
      }
      out.push({ kind: "message", key: message.message_id, message, first: startRun(message.from_user_id, message.timestamp) });
    }
    const streaming = Object.values(thread?.streaming ?? {}).sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1));
    for (const s of streaming) {
      addDay(s.timestamp);
      out.push({ kind: "streaming", key: `s-${s.message_id}`, streaming: s, first: startRun(s.from_user_id, s.timestamp) });
    }
    for (const item of outgoing) {
      const iso = new Date(item.created_at).toISOString();
      addDay(iso);
      out.push({ kind: "outgoing", key: `o-${item.client_msg_id}`, item, first: startRun(me.user_id, iso) });
    }
    return out;
  }, [thread, outgoing, me.user_id]);

  // --- delivery marks on my messages ("Sent", "Seen", "Seen by …") -------------------------------
  const delivery = useMemo(() => {
    const marks = new Map<string, Delivery>();
    const messages = thread?.messages ?? [];
    const mine = messages.filter((m) => m.from_user_id === me.user_id);
    if (!mine.length) return marks;
    const reads = Object.entries(thread?.reads ?? {}).filter(([userId]) => userId !== me.user_id);
    const readersOf = (seq: number) => reads.filter(([, readSeq]) => readSeq >= seq).map(([userId]) => userId);
    const last = mine[mine.length - 1];
    const lastReaders = readersOf(last.seq);
    const names = (ids: string[]) => ids.map((id) => displayName(members.get(id))).join(", ");
    if (lastReaders.length) {
      marks.set(last.message_id, { state: "seen", label: isGroup ? `Seen by ${names(lastReaders)}` : "Seen" });
    } else {
      marks.set(last.message_id, { state: "sent", label: "Sent" });
      for (let i = mine.length - 2; i >= 0; i--) {
        const readers = readersOf(mine[i].seq);
        if (readers.length) {
          marks.set(mine[i].message_id, { state: "seen", label: isGroup ? `Seen by ${names(readers)}` : "Seen" });
          break;
        }
      }
    }
    return marks;
  }, [thread, me.user_id, members, isGroup]);

  // --- scrolling ---------------------------------------------------------------------------------
  const scrollToBottom = useCallback((smooth = false) => {
    const el = listRef.current;
    if (!el) return;
    el.scrollTo({ top: el.scrollHeight, behavior: smooth ? "smooth" : "auto" });
    atBottom.current = true;
    setJumpVisible(false);
  }, []);

  const lastRow = rows[rows.length - 1];
  const lastKey = lastRow?.key;
  const lastIsMineNew = lastRow?.kind === "outgoing";

  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    if (prependFrom.current !== null) {
      el.scrollTop = el.scrollHeight - prependFrom.current;
      prependFrom.current = null;
      return;
    }
    if (atBottom.current || lastIsMineNew) {
      el.scrollTop = el.scrollHeight;
      atBottom.current = true;
    }
  });

  useEffect(() => {
    if (!atBottom.current && lastKey) setJumpVisible(true);
  }, [lastKey]);

  const onScroll = () => {
    const el = listRef.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    if (atBottom.current) setJumpVisible(false);
  };

  const loadOlder = useCallback(async () => {
    const el = listRef.current;
    if (loadingOlder || !thread?.nextCursor || !el) return;
    setLoadingOlder(true);
    setOlderError(null);
    prependFrom.current = el.scrollHeight - el.scrollTop;
    try {
      await client.loadOlder(chatId);
    } catch (error) {
      prependFrom.current = null;
      setOlderError(error instanceof ApiError ? error.detail : String(error));
    } finally {
      setLoadingOlder(false);
    }
  }, [client, chatId, loadingOlder, thread?.nextCursor]);

  // Reaching the top loads older messages.
  useEffect(() => {
    const top = topRef.current;
    const root = listRef.current;
    if (!top || !root || !thread?.nextCursor) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting) && root.scrollHeight > root.clientHeight) void loadOlder();
      },
      { root, rootMargin: "200px 0px 0px 0px" },
    );
    observer.observe(top);
    return () => observer.disconnect();
  }, [loadOlder, thread?.nextCursor]);

  // --- read receipts: the highest message seen on screen ----------------------------------------
  const markVisibleRead = useCallback(() => {
    if (document.visibilityState !== "visible") return;
    const seqs = [...visibleSeqs.current];
    if (!seqs.length) return;
    client.markRead(chatId, Math.max(...seqs));
  }, [client, chatId]);

  const messageCount = thread?.messages.length ?? 0;
  const lastSeq = thread?.messages[messageCount - 1]?.seq ?? 0;
  useEffect(() => {
    const root = listRef.current;
    if (!root) return;
    const seen = visibleSeqs.current;
    seen.clear();
    const observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const seq = Number((entry.target as HTMLElement).dataset.seq);
          if (entry.isIntersecting) seen.add(seq);
          else seen.delete(seq);
        }
        markVisibleRead();
      },
      { root, threshold: 0.5 },
    );
    root.querySelectorAll<HTMLElement>("[data-seq]").forEach((el) => observer.observe(el));
    const onVisible = () => markVisibleRead();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      observer.disconnect();
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [messageCount, lastSeq, markVisibleRead, snapshot.connection.status]);

  // --- states ------------------------------------------------------------------------------------
  if (loadError && !thread?.loaded) {
    const gone = loadError.status === 404 || loadError.status === 403;
    return (
      <div className="empty-pane" role="alert">
        <h1 className="h2">{gone ? "Chat not available" : "Couldn't open this chat"}</h1>
        <p className="muted">{loadError.detail}</p>
        <div className="row">
          {!gone && (
            <button className="btn primary" onClick={() => setAttempt((n) => n + 1)}>
              Try again
            </button>
          )}
          <Link className="btn" href="/chats">
            Back to chats
          </Link>
        </div>
      </div>
    );
  }

  const typingIds = Object.keys(thread?.typing ?? {});
  const typingText = typingIds.length
    ? typingIds.length === 1
      ? `${isGroup ? displayName(members.get(typingIds[0])) : displayName(other) || title} is typing…`
      : `${typingIds.map((id) => displayName(members.get(id))).join(", ")} are typing…`
    : null;

  const subtitle = isGroup
    ? detail
      ? `${detail.members.length} members · ${detail.members.map((m) => (m.user_id === me.user_id ? "you" : displayName(m))).join(", ")}`
      : ""
    : other
      ? other.native_language === me.native_language
        ? `@${other.username} · also writes in ${languageName(other.native_language, languages)}`
        : `@${other.username} · reads in ${nativeLanguageName(other.native_language, languages)}`
      : "";

  const toggleOriginal = (messageId: string) =>
    setOriginals((current) => {
      const next = new Set(current);
      if (next.has(messageId)) next.delete(messageId);
      else next.add(messageId);
      return next;
    });

  return (
    <section className="conversation" aria-labelledby="conversation-title">
      <header className="conv-header">
        <Link href="/chats" className="icon-btn back-btn" aria-label="Back to chats">
          <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true">
            <path d="M15 5l-7 7 7 7" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
        </Link>
        <Avatar name={title || "?"} size={38} group={isGroup} />
        <div className="conv-title-wrap">
          <h1 id="conversation-title" className="conv-title" title={other ? `@${other.username}` : undefined}>
            {title || "Loading…"}
          </h1>
          <p className={`conv-subtitle${typingText ? " typing" : ""}`} aria-live="polite" data-testid="conv-subtitle">
            {typingText ?? subtitle}
          </p>
        </div>
        <div className="conv-actions">
          <ConnectionStatus compact />
          {call ? (
            <Link href={`/chats/${chatId}/call`} className="icon-btn in-call" aria-label="Open the call" title="Open the call">
              <PhoneIcon />
            </Link>
          ) : (
            <button
              type="button"
              className="icon-btn"
              aria-label="Start a voice call"
              title="Start a voice call"
              onClick={() => {
                if (client.voice.startCall(chatId)) router.push(`/chats/${chatId}/call`);
              }}
            >
              <PhoneIcon />
            </button>
          )}
          <button
            type="button"
            className="icon-btn"
            aria-label="Chat details"
            aria-expanded={showInfo}
            aria-controls="chat-info"
            onClick={() => setShowInfo((v) => !v)}
          >
            <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true">
              <circle cx="12" cy="12" r="9.5" fill="none" stroke="currentColor" strokeWidth="2" />
              <path d="M12 11v6M12 7.5v.01" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" />
            </svg>
          </button>
        </div>
      </header>

      {snapshot.connection.status !== "connected" && snapshot.connection.status !== "connecting" && (
        <p className="banner warn slim">
          {snapshot.connection.status === "offline"
            ? "You're offline. Messages you write are saved and go out when you're back."
            : "Connection lost. Reconnecting… your messages are saved and will be sent."}
        </p>
      )}

      <CallStrip chatId={chatId} />

      {showInfo && chat && (
        <ChatInfo
          chatId={chatId}
          isGroup={isGroup}
          members={detail?.members ?? []}
          onLeft={() => router.replace("/chats")}
          languagesName={(code) => nativeLanguageName(code, languages)}
        />
      )}

      <div className="messages" ref={listRef} onScroll={onScroll} data-testid="messages" tabIndex={0} aria-label={`Messages with ${title}`}>
        <div ref={topRef} className="messages-top">
          {thread?.loaded && thread.nextCursor ? (
            <button type="button" className="btn small" onClick={() => void loadOlder()} disabled={loadingOlder}>
              {loadingOlder ? "Loading…" : "Load older messages"}
            </button>
          ) : thread?.loaded && thread.messages.length > 0 ? (
            <p className="muted small">This is the beginning of the conversation.</p>
          ) : null}
          <FormError message={olderError} />
        </div>
        {!thread?.loaded && <p className="muted center pad">Loading messages…</p>}
        {thread?.loaded && rows.length === 0 && (
          <div className="empty-chat">
            <p>
              Say hello! {other && other.native_language !== me.native_language
                ? `Write in ${languageName(me.native_language, languages)}; ${displayName(other)} reads it in ${languageName(other.native_language, languages)}.`
                : "Everyone reads your messages in their own language."}
            </p>
          </div>
        )}
        <ol className="message-rows">
          {rows.map((row) => {
            switch (row.kind) {
              case "day":
                return (
                  <li key={row.key} className="day-sep">
                    <span>{row.label}</span>
                  </li>
                );
              case "unread":
                return (
                  <li key={row.key} className="unread-sep">
                    <span>New messages</span>
                  </li>
                );
              case "message": {
                const mine = row.message.from_user_id === me.user_id;
                if (row.message.kind === "call") return <CallRecord key={row.key} message={row.message} mine={mine} />;
                return (
                  <MessageBubble
                    key={row.key}
                    chatId={chatId}
                    message={row.message}
                    mine={mine}
                    first={row.first}
                    senderName={isGroup && !mine && row.first ? displayName(members.get(row.message.from_user_id)) : null}
                    showOriginal={originals.has(row.message.message_id)}
                    onToggleOriginal={() => toggleOriginal(row.message.message_id)}
                    delivery={mine ? delivery.get(row.message.message_id) : undefined}
                    languageName={(code) => languageName(code, languages)}
                  />
                );
              }
              case "streaming":
                return (
                  <StreamingBubble
                    key={row.key}
                    streaming={row.streaming}
                    myLanguage={me.native_language}
                    first={row.first}
                    senderName={isGroup && row.first ? displayName(members.get(row.streaming.from_user_id)) : null}
                    languageName={(code) => languageName(code, languages)}
                  />
                );
              case "outgoing":
                return (
                  <OutgoingBubble
                    key={row.key}
                    item={row.item}
                    first={row.first}
                    connected={snapshot.connection.status === "connected"}
                    onRetry={() => client.retry(row.item.client_msg_id)}
                    onDiscard={() => client.discard(row.item.client_msg_id)}
                  />
                );
            }
          })}
        </ol>
      </div>
      {jumpVisible && (
        <button type="button" className="jump-btn" onClick={() => scrollToBottom(true)}>
          New messages ↓
        </button>
      )}
      <Composer
        key={chatId}
        chatId={chatId}
        placeholder={`Write in ${languageName(me.native_language, languages) || "your language"}…`}
        onSend={(text) => {
          client.send(chatId, text);
          atBottom.current = true;
        }}
        onTyping={() => client.typing(chatId)}
        onVoiceNote={async (audio, mimeType) => {
          await client.sendVoiceNote(chatId, audio, uploadContentType(mimeType));
          atBottom.current = true;
        }}
      />
    </section>
  );
}

function ChatInfo({
  chatId,
  isGroup,
  members,
  onLeft,
  languagesName,
}: {
  chatId: string;
  isGroup: boolean;
  members: Member[];
  onLeft: () => void;
  languagesName: (code: string) => string;
}) {
  const { client, me } = useSession();
  const [username, setUsername] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function add(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const name = username.trim().replace(/^@/, "");
    if (!name) return setError("Enter a username.");
    setBusy(true);
    try {
      await client.addMember(chatId, name);
      setUsername("");
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : String(err));
    } finally {
      setBusy(false);
    }
  }

  async function leave() {
    if (!window.confirm("Leave this group? You won't get its messages any more.")) return;
    setBusy(true);
    try {
      await client.leave(chatId);
      onLeft();
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : String(err));
      setBusy(false);
    }
  }

  return (
    <section id="chat-info" className="chat-info" aria-label="Chat details">
      <h2 className="h3">{isGroup ? "Members" : "About"}</h2>
      <ul className="member-list">
        {members.map((member) => (
          <li key={member.user_id}>
            <Avatar name={`${member.first_name} ${member.last_name}`.trim() || member.username} size={28} />
            <span>
              <strong>
                {`${member.first_name} ${member.last_name}`.trim() || member.username}
                {member.user_id === me.user_id && " (you)"}
              </strong>{" "}
              <span className="muted">@{member.username}</span>
            </span>
            {member.native_language && <span className="tag">{languagesName(member.native_language)}</span>}
          </li>
        ))}
      </ul>
      {isGroup && (
        <>
          <form className="inline-form" onSubmit={add}>
            <label htmlFor="add-member" className="visually-hidden">
              Add someone by username
            </label>
            <input id="add-member" placeholder="Add by username" autoCapitalize="none" spellCheck={false} value={username} onChange={(e) => setUsername(e.target.value)} />
            <button className="btn" type="submit" disabled={busy}>
              Add
            </button>
          </form>
          <button type="button" className="btn danger-outline" onClick={() => void leave()} disabled={busy}>
            Leave group
          </button>
        </>
      )}
      <FormError message={error} />
    </section>
  );
}
