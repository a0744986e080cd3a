/**
 * What to call a person or a chat, in one place. Every screen names people and chats
 * through these, so a chat has the same title in the inbox, its header, its call page, a
 * toast and a screen reader's announcement.
 */
import type { ChatSummary } from "./types";

/** The fields a person's name is made of (a Member, Me, a chat's other person). */
export interface Person {
  user_id: string;
  username: string;
  first_name: string;
  last_name: string;
}

/** "Ana Lima"; the username when neither name is set. */
export function fullName(person: Person): string {
  return `${person.first_name} ${person.last_name}`.trim() || person.username;
}

/** A person the client knows only by username (a member just added, until the chat's details
 *  load again): the username stands for the first name, so every name above says it. */
export function personKnownByUsername({ user_id, username }: { user_id: string; username: string }): Person {
  return { user_id, username, first_name: username, last_name: "" };
}

/** The caller as a ringing call says it: the name the server made for them (apps/voice:
 *  fullName's rule), else the username; null when the frame has neither. */
export function callerName({ caller_name, caller_username }: { caller_name: string; caller_username: string }): string | null {
  return caller_name || caller_username || null;
}

/** A person in a line of text ("Ana is typing…", "Seen by Ana, Bruno"): the first name, else
 *  the username; "Someone" when the person is not known here. */
export function shortName(person: Person | undefined): string {
  if (!person) return "Someone";
  return person.first_name || person.username;
}

/** A chat from its summary alone: the group's title, or the other person's username; "Chat"
 *  when neither is known (or the chat is not). */
export function chatTitle(chat: ChatSummary | undefined): string {
  if (!chat) return "Chat";
  return (chat.kind === "group" ? chat.title : chat.other_username) || chat.other_username || "Chat";
}

/** The other member of a direct chat, once its members are loaded; none for a group. */
export function otherMember<P extends Person>(chat: ChatSummary | undefined, members: readonly P[] | undefined, meId: string): P | undefined {
  if (chat?.kind === "group") return undefined;
  return members?.find((member) => member.user_id !== meId);
}

/** A conversation's heading: the other person's full name in a direct chat whose members are
 *  loaded, else chatTitle; "" while nothing about the chat is known. */
export function conversationTitle(chat: ChatSummary | undefined, other: Person | undefined): string {
  const otherName = other ? `${other.first_name} ${other.last_name}`.trim() : "";
  if (otherName) return otherName;
  return chat ? chatTitle(chat) : "";
}

/** Someone in a chat, by id, as a call's status line says it: "You", a member's short name,
 *  the other person's username before the members are loaded, else "Someone". */
export function nameInChat(
  userId: string,
  { meId, members, chat }: { meId: string; members: readonly Person[] | undefined; chat: ChatSummary | undefined },
): string {
  if (userId === meId) return "You";
  const member = members?.find((m) => m.user_id === userId);
  if (member) return shortName(member);
  if (chat && chat.other_user_id === userId && chat.other_username) return chat.other_username;
  return "Someone";
}
