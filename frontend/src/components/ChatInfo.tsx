"use client";

/**
 * A chat's details under its header: the members, and in a group, adding someone and leaving;
 * the chat's glossary and how translations into my language address people here.
 */
import { useState, type FormEvent } from "react";
import { ApiError } from "@/lib/api";
import { fullName } from "@/lib/names";
import type { Member } from "@/lib/types";
import { Avatar } from "./Avatar";
import { ChatGlossary } from "./ChatGlossary";
import { ChatMute } from "./ChatMute";
import { FormalityChoice } from "./FormalityChoice";
import { FormError } from "./FormError";
import { PresenceDot } from "./PresenceStatus";
import { useSession } from "./session";

export function ChatInfo({
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
            <Avatar name={fullName(member)} size={28} />
            <span>
              <strong>
                {fullName(member)}
                {member.user_id === me.user_id && " (you)"}
              </strong>{" "}
              <span className="muted">@{member.username}</span>
              {isGroup && member.user_id !== me.user_id && <PresenceDot userId={member.user_id} />}
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
      <ChatMute chatId={chatId} />
      <FormalityChoice chatId={chatId} />
      <ChatGlossary chatId={chatId} />
    </section>
  );
}
