"use client";

/** A conversation's header: back, who it is with, who is typing, the call and details buttons. */
import Link from "next/link";
import type { Ref } from "react";
import { useRouter } from "next/navigation";
import type { Thread } from "@/lib/chatState";
import { liveCall } from "@/lib/callState";
import { languageName, nativeLanguageName } from "@/lib/languages";
import { shortName } from "@/lib/names";
import type { ChatDetail, Language, Me, Member } from "@/lib/types";
import { Avatar } from "./Avatar";
import { ConnectionStatus } from "./ConnectionStatus";
import { BackIcon, InfoIcon, PhoneIcon } from "./Icons";
import { PresenceStatus } from "./PresenceStatus";
import { usePresenceWatch } from "./presenceHooks";
import { useSession, useVoiceSnapshot } from "./session";

/** "Ana is typing…", "Ana, Bruno are typing…"; null when nobody is. */
function typingText(thread: Thread | undefined, isGroup: boolean, members: Map<string, Member>, other: Member | undefined): string | null {
  const typingIds = Object.keys(thread?.typing ?? {});
  if (!typingIds.length) return null;
  if (typingIds.length === 1) return `${shortName(isGroup ? members.get(typingIds[0]) : other)} is typing…`;
  return `${typingIds.map((id) => shortName(members.get(id))).join(", ")} are typing…`;
}

/** A group's members ("3 members · you, Ana, Bruno"), or the other person's username and language. */
function subtitleText(me: Me, isGroup: boolean, detail: ChatDetail | undefined, other: Member | undefined, languages: Language[] | null): string {
  if (isGroup) {
    if (!detail) return "";
    return `${detail.members.length} members · ${detail.members.map((m) => (m.user_id === me.user_id ? "you" : shortName(m))).join(", ")}`;
  }
  if (!other) return "";
  return other.native_language === me.native_language
    ? `@${other.username} · also writes in ${languageName(other.native_language, languages)}`
    : `@${other.username} · reads in ${nativeLanguageName(other.native_language, languages)}`;
}

export function ConversationHeader({
  chatId,
  title,
  isGroup,
  detail,
  thread,
  members,
  other,
  languages,
  showInfo,
  infoButtonRef,
  onToggleInfo,
}: {
  chatId: string;
  title: string;
  isGroup: boolean;
  detail: ChatDetail | undefined;
  thread: Thread | undefined;
  members: Map<string, Member>;
  other: Member | undefined;
  languages: Language[] | null;
  showInfo: boolean;
  infoButtonRef: Ref<HTMLButtonElement>;
  onToggleInfo: () => void;
}) {
  const { client, me } = useSession();
  const voice = useVoiceSnapshot();
  const router = useRouter();
  const call = liveCall(voice.calls, chatId);
  const typing = typingText(thread, isGroup, members, other);
  usePresenceWatch(chatId);

  return (
    <header className="conv-header">
      <Link href="/chats" className="icon-btn back-btn" aria-label="Back to chats">
        <BackIcon />
      </Link>
      <Avatar name={title || "?"} size={38} group={isGroup} />
      <div className="conv-title-wrap">
        <h1 id="conversation-title" className="conv-title" title={other ? `@${other.username}` : undefined}>
          {title || "Loading…"}
        </h1>
        {!isGroup && !typing && <PresenceStatus userId={other?.user_id} />}
        <p className={`conv-subtitle${typing ? " typing" : ""}`} aria-live="polite" data-testid="conv-subtitle">
          {typing ?? subtitleText(me, isGroup, detail, other, languages)}
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
        <button ref={infoButtonRef} type="button" className="icon-btn" aria-label="Chat details" aria-expanded={showInfo} aria-controls="chat-info" onClick={onToggleInfo}>
          <InfoIcon />
        </button>
      </div>
    </header>
  );
}
