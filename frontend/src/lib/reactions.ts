/**
 * Reactions to messages: one emoji per person per message, toggled (the same emoji again takes
 * it away, another replaces it). The server keeps them on the message (`message.reactions`, in
 * history and live frames alike) and tells every member of a change with `reaction_updated`,
 * which carries the message's whole summary: applying it replaces what the thread held.
 */
import type { Message, ReactionSummary, ReactionUpdatedFrame } from "./types";

/** The emoji offered at a click; any single emoji is accepted by the server. */
export const QUICK_REACTIONS: readonly { emoji: string; name: string }[] = [
  { emoji: "👍", name: "thumbs up" },
  { emoji: "❤️", name: "heart" },
  { emoji: "😂", name: "laughing" },
  { emoji: "😮", name: "surprised" },
  { emoji: "😢", name: "sad" },
  { emoji: "🙏", name: "thank you" },
];

/** The messages with `frame`'s reactions on its message; the same array when it is not held,
 *  or when what it holds is as new (frames sent by two server instances can arrive in either
 *  order: the higher `reactions_version` is the later state). */
export function messagesWithReactions(messages: Message[], frame: ReactionUpdatedFrame): Message[] {
  const index = messages.findIndex((m) => m.message_id === frame.message_id);
  if (index < 0) return messages;
  const message = messages[index];
  if ((message.reactions_version ?? 0) >= frame.reactions_version) return messages;
  const next = messages.slice();
  const updated: Message = { ...message, reactions: frame.reactions, reactions_version: frame.reactions_version };
  if (!frame.reactions.length) delete updated.reactions;
  next[index] = updated;
  return next;
}

/** `incoming` (a whole message sent again: a translation that arrived, an edit) with the
 *  reactions of `held` when those are newer, so a message stored before a reaction does not
 *  bring back the older reactions. */
export function keepingNewerReactions(incoming: Message, held: Message): Message {
  if ((held.reactions_version ?? 0) <= (incoming.reactions_version ?? 0)) return incoming;
  const kept: Message = { ...incoming, reactions_version: held.reactions_version };
  if (held.reactions) kept.reactions = held.reactions;
  else delete kept.reactions;
  return kept;
}

/** Who reacted with one emoji, in words: "You, Beto and Carla". */
export function reactorNames(userIds: readonly string[], myUserId: string, nameOf: (userId: string) => string): string {
  const names = [...userIds].sort((a, b) => (a === myUserId ? -1 : b === myUserId ? 1 : 0)).map((id) => (id === myUserId ? "You" : nameOf(id)));
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** A chip's accessible name: the emoji, how many, who, and what pressing it does. */
export function reactionLabel(reaction: ReactionSummary, myUserId: string, nameOf: (userId: string) => string): string {
  const who = reactorNames(reaction.user_ids, myUserId, nameOf);
  const mine = reaction.user_ids.includes(myUserId);
  const count = `${reaction.count} ${reaction.count === 1 ? "reaction" : "reactions"}`;
  return `${reaction.emoji} ${count} from ${who}; ${mine ? "press to remove yours" : "press to react with it too"}`;
}
