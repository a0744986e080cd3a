"use client";

/** One chat on screen: its header, call strip, details, messages and composer. The behaviour is
 *  in conversationHooks.ts, what the list holds in lib/messageRows.ts. */
import { useRouter } from "next/navigation";
import { useEffect, useEffectEvent, useMemo, useRef, useState, type RefObject } from "react";
import { languageName, nativeLanguageName, useLanguages } from "@/lib/languages";
import { isMessageKey } from "@/lib/messageRows";
import { shortName } from "@/lib/names";
import { uploadContentType } from "@/lib/recording";
import { CallStrip } from "./CallStrip";
import { ChatInfo } from "./ChatInfo";
import { ChatUnavailable } from "./ChatUnavailable";
import { Composer } from "./Composer";
import { ConversationHeader } from "./ConversationHeader";
import { useDeliveryMarks, useMessageRows, useOlderMessages, useReadMarkAtOpen, useScrollPinning, useVisibleReadMarks } from "./conversationHooks";
import { FormError } from "./FormError";
import { useChatPage, useNameOf } from "./hooks";
import { useListWindow } from "./listWindow";
import { MessageRows } from "./MessageRows";
import { PageTitle } from "./PageTitle";
import { RepliesContext, ReplyingTo, useReplyDraft } from "./ReplyQuote";
import { useJumpToMessage } from "./useJumpToMessage";
import { useClientSnapshot, useSession } from "./session";

export function Conversation({ chatId }: { chatId: string }) {
  const { client, me } = useSession();
  const router = useRouter();
  const snapshot = useClientSnapshot();
  const { languages } = useLanguages();
  const [showInfo, setShowInfo] = useState(false);
  const infoButtonRef = useRef<HTMLButtonElement>(null);
  useEscapeCloses(showInfo, () => setShowInfo(false), infoButtonRef);
  const { chat, detail, other, title, loadError, retry } = useChatPage(chatId);
  const thread = snapshot.chat.threads[chatId];
  const connection = snapshot.connection.status;
  const outgoing = useMemo(() => snapshot.outbox.filter((item) => item.chat_id === chatId), [snapshot.outbox, chatId]);
  const members = useMemo(() => new Map((detail?.members ?? []).map((m) => [m.user_id, m])), [detail]);
  const isGroup = chat?.kind === "group";
  const langName = (code: string) => languageName(code, languages);

  const rows = useMessageRows(thread, outgoing, me.user_id, useReadMarkAtOpen(chat, thread));
  const delivery = useDeliveryMarks(thread, me.user_id, isGroup, members);
  const pinning = useScrollPinning(rows[rows.length - 1]);
  const { listRef, onScroll, jumpVisible, scrollToBottom, pinToBottom } = pinning;
  const keys = useMemo(() => rows.map((row) => row.key), [rows]);
  const listWindow = useListWindow(listRef, keys, { pinnedRef: pinning.atBottom, estimate: 64, anchorable: isMessageKey });
  const { topRef, loadOlder, loadingOlder, olderError } = useOlderMessages(client, chatId, thread?.nextCursor, pinning);
  const shown = `${listWindow.range.start}-${listWindow.range.end}`;
  useVisibleReadMarks(client, chatId, listRef, { thread, connection, shown });
  const jump = useJumpToMessage({ client, chatId, rows, listRef, listWindow, unpin: pinning.unpin, loaded: thread?.loaded ?? false });
  const reply = useReplyDraft();
  const nameOf = useNameOf(chatId);
  const { jumpTo } = jump;
  const replies = useMemo(() => ({ startReply: reply.start, jumpTo: (seq: number) => void jumpTo(seq) }), [reply.start, jumpTo]);

  if (loadError && !thread?.loaded) return <ChatUnavailable error={loadError} page="chat" onRetry={retry} />;

  return (
    <RepliesContext.Provider value={replies}>
    <section className="conversation" aria-labelledby="conversation-title">
      <PageTitle title={title || "Chat"} />
      <ConversationHeader {...{ chatId, title, isGroup, detail, thread, members, other, languages, showInfo, infoButtonRef }} onToggleInfo={() => setShowInfo((v) => !v)} />
      {connection !== "connected" && connection !== "connecting" && (
        <p className="banner warn slim">
          {connection === "offline"
            ? "You're offline. Messages you write are saved and go out when you're back."
            : "Connection lost. Reconnecting… your messages are saved and will be sent."}
        </p>
      )}
      <CallStrip chatId={chatId} />
      {jump.jumping !== null && <p className="banner slim" role="status">Finding the message…</p>}
      <FormError message={jump.jumpError} />
      {showInfo && chat && (
        <ChatInfo chatId={chatId} isGroup={isGroup} members={detail?.members ?? []} onLeft={() => router.replace("/chats")} languagesName={(code) => nativeLanguageName(code, languages)} />
      )}
      <div className="messages" ref={listRef} onScroll={() => {
          onScroll();
          listWindow.onScroll();
        }} data-testid="messages" tabIndex={0} aria-label={`Messages with ${title}`}>
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
                ? `Write in ${langName(me.native_language)}; ${shortName(other)} reads it in ${langName(other.native_language)}.`
                : "Everyone reads your messages in their own language."}
            </p>
          </div>
        )}
        <MessageRows chatId={chatId} rows={rows} listWindow={listWindow} isGroup={isGroup} members={members} delivery={delivery} connected={connection === "connected"} languageName={langName} />
      </div>
      {jumpVisible && (
        <button type="button" className="jump-btn" onClick={() => scrollToBottom(true)}>
          New messages ↓
        </button>
      )}
      <Composer
        key={chatId}
        chatId={chatId}
        placeholder={`Write in ${langName(me.native_language) || "your language"}…`}
        onSend={(text) => {
          client.send(chatId, text, reply.take());
          pinToBottom();
        }}
        above={reply.quote && <ReplyingTo quote={reply.quote} author={nameOf(reply.quote.from_user_id)} onCancel={reply.cancel} />}
        onTyping={() => client.typing(chatId)}
        onVoiceNote={async (audio, mimeType) => {
          await client.sendVoiceNote(chatId, audio, uploadContentType(mimeType));
          pinToBottom();
        }}
      />
    </section>
    </RepliesContext.Provider>
  );
}

/**
 * Escape closes the chat's details while the focus is in them, on their button or nowhere in
 * particular, and gives the focus back to the button (Escape elsewhere, such as while
 * recording a voice note, means something else).
 */
function useEscapeCloses(open: boolean, close: () => void, button: RefObject<HTMLButtonElement | null>): void {
  const onEscape = useEffectEvent((event: KeyboardEvent) => {
    const active = document.activeElement;
    const panel = document.getElementById("chat-info");
    const focusHere = !active || active === document.body || active === button.current || (panel?.contains(active) ?? false);
    if (!focusHere) return;
    event.preventDefault();
    close();
    button.current?.focus();
  });
  useEffect(() => {
    if (!open) return;
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key === "Escape" && !event.defaultPrevented) onEscape(event);
    };
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, [open]);
}
