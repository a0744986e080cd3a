"use client";

/** A conversation's rows (lib/messageRows.ts) as list items: separators and message bubbles;
 *  only those near the viewport are rendered (listWindow.ts), spacers stand for the rest. */
import { useState } from "react";
import type { Delivery, Row } from "@/lib/messageRows";
import { shortName } from "@/lib/names";
import type { Member } from "@/lib/types";
import { quoteOf } from "@/lib/replies";
import type { ListWindow } from "./listWindow";
import { ReplyButton, ReplyQuote, useReplies } from "./ReplyQuote";
import { CallRecord, MessageBubble, OutgoingBubble, StreamingBubble } from "./MessageBubble";
import { useNameOf } from "./hooks";
import { useSession } from "./session";

export function MessageRows({
  chatId,
  rows,
  listWindow,
  isGroup,
  members,
  delivery,
  connected,
  languageName,
}: {
  chatId: string;
  rows: Row[];
  listWindow: ListWindow;
  isGroup: boolean;
  members: Map<string, Member>;
  delivery: Map<string, Delivery>;
  connected: boolean;
  languageName: (code: string) => string;
}) {
  const { client, me } = useSession();
  const nameOf = useNameOf(chatId);
  const replies = useReplies();
  // Messages shown in their original words instead of the translation.
  const [originals, setOriginals] = useState<Set<string>>(() => new Set());
  const toggleOriginal = (messageId: string) =>
    setOriginals((current) => {
      const next = new Set(current);
      if (next.has(messageId)) next.delete(messageId);
      else next.add(messageId);
      return next;
    });

  // A row that starts a run from one sender; in a group, someone else's is headed by their name.
  // Every row says who wrote it to a screen reader (author), whether the name shows or not.
  const runStart = (first: boolean, senderId: string) => ({
    first,
    senderName: isGroup && first && senderId !== me.user_id ? shortName(members.get(senderId)) : null,
    author: nameOf(senderId),
  });

  const { range, spacerRef, itemsRef } = listWindow;
  return (
    <>
    <div ref={spacerRef} className="rows-spacer" style={{ height: range.before }} aria-hidden="true" />
    <ol className="message-rows" ref={itemsRef}>
      {rows.slice(range.start, range.end).map((row) => {
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
            if (row.message.kind === "call" && !row.message.deleted) return <CallRecord key={row.key} message={row.message} mine={mine} />;
            return (
              <MessageBubble
                key={row.key}
                chatId={chatId}
                message={row.message}
                mine={mine}
                {...runStart(row.first, row.message.from_user_id)}
                showOriginal={originals.has(row.message.message_id)}
                onToggleOriginal={() => toggleOriginal(row.message.message_id)}
                delivery={mine ? delivery.get(row.message.message_id) : undefined}
                languageName={languageName}
                senderLanguage={members.get(row.message.from_user_id)?.native_language}
                quote={row.message.reply_to && <ReplyQuote quote={row.message.reply_to} author={nameOf(row.message.reply_to.from_user_id)} onJump={replies?.jumpTo} />}
                actions={replies && <ReplyButton onReply={() => replies.startReply(quoteOf(row.message))} />}
              />
            );
          }
          case "streaming":
            return (
              <StreamingBubble
                key={row.key}
                streaming={row.streaming}
                myLanguage={me.native_language}
                {...runStart(row.first, row.streaming.from_user_id)}
                languageName={languageName}
              />
            );
          case "outgoing":
            return (
              <OutgoingBubble
                key={row.key}
                author={nameOf(me.user_id)}
                item={row.item}
                first={row.first}
                connected={connected}
                onRetry={() => client.retry(row.item.client_msg_id)}
                onDiscard={() => client.discard(row.item.client_msg_id)}
                quote={row.item.reply_to && <ReplyQuote quote={row.item.reply_to} author={nameOf(row.item.reply_to.from_user_id)} onJump={replies?.jumpTo} />}
              />
            );
        }
      })}
    </ol>
    <div className="rows-spacer" style={{ height: range.after }} aria-hidden="true" />
    </>
  );
}
