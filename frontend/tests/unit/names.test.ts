import { describe, expect, it } from "vitest";
import { callerName, chatTitle, conversationTitle, fullName, nameInChat, otherMember, personKnownByUsername, shortName, type Person } from "@/lib/names";
import type { ChatSummary } from "@/lib/types";

const ana: Person = { user_id: "u1", username: "ana", first_name: "Ana", last_name: "Lima" };
const bruno: Person = { user_id: "u2", username: "bruno", first_name: "Bruno", last_name: "" };
const nameless: Person = { user_id: "u3", username: "carl", first_name: "", last_name: "" };

function summary(extra: Partial<ChatSummary>): ChatSummary {
  return {
    chat_id: "c1",
    other_username: null,
    other_user_id: null,
    last_message_preview: null,
    updated_at: "",
    kind: "direct",
    title: null,
    unread_count: 0,
    last_seq: 0,
    last_read_seq: 0,
    muted: false,
    ...extra,
  };
}
const direct = summary({ kind: "direct", other_username: "bruno", other_user_id: "u2" });
const group = summary({ kind: "group", title: "Book club" });

describe("names", () => {
  it("a person's full name, else the username", () => {
    expect(fullName(ana)).toBe("Ana Lima");
    expect(fullName(bruno)).toBe("Bruno");
    expect(fullName(nameless)).toBe("carl");
  });

  it("a person in a line of text: first name, else username, else Someone", () => {
    expect(shortName(ana)).toBe("Ana");
    expect(shortName(nameless)).toBe("carl");
    expect(shortName(undefined)).toBe("Someone");
  });

  it("a chat from its summary: the group's title or the other person's username, else Chat", () => {
    expect(chatTitle(group)).toBe("Book club");
    expect(chatTitle(direct)).toBe("bruno");
    expect(chatTitle(summary({ kind: "group", title: null, other_username: "dana" }))).toBe("dana");
    expect(chatTitle(summary({ kind: "group", title: null }))).toBe("Chat");
    expect(chatTitle(undefined)).toBe("Chat");
  });

  it("the other member of a direct chat; none in a group", () => {
    expect(otherMember(direct, [ana, bruno], "u1")).toBe(bruno);
    expect(otherMember(undefined, [ana, bruno], "u1")).toBe(bruno);
    expect(otherMember(direct, undefined, "u1")).toBeUndefined();
    expect(otherMember(group, [ana, bruno], "u1")).toBeUndefined();
  });

  it("a conversation's heading: the other person's full name once known, else the chat's title", () => {
    expect(conversationTitle(direct, ana)).toBe("Ana Lima");
    expect(conversationTitle(direct, undefined)).toBe("bruno");
    expect(conversationTitle(direct, nameless)).toBe("bruno");
    expect(conversationTitle(group, undefined)).toBe("Book club");
    expect(conversationTitle(undefined, undefined)).toBe("");
  });

  it("someone in a chat by id: You, a member, the other person's username, else Someone", () => {
    const members = [ana, bruno];
    expect(nameInChat("u1", { meId: "u1", members, chat: direct })).toBe("You");
    expect(nameInChat("u2", { meId: "u1", members, chat: direct })).toBe("Bruno");
    expect(nameInChat("u2", { meId: "u1", members: undefined, chat: direct })).toBe("bruno");
    expect(nameInChat("u9", { meId: "u1", members, chat: direct })).toBe("Someone");
  });

  it("a person known only by username is called by it everywhere", () => {
    const added = personKnownByUsername({ user_id: "u4", username: "dana" });
    expect(added).toEqual({ user_id: "u4", username: "dana", first_name: "dana", last_name: "" });
    expect(fullName(added)).toBe("dana");
    expect(shortName(added)).toBe("dana");
  });

  it("a ringing call's caller: the name the server made, else the username, else none", () => {
    expect(callerName({ caller_name: "Ana Lima", caller_username: "ana" })).toBe("Ana Lima");
    expect(callerName({ caller_name: "", caller_username: "ana" })).toBe("ana");
    expect(callerName({ caller_name: "", caller_username: "" })).toBeNull();
  });
});
