/**
 * Edit and delete for everyone, in two browsers against the real backend and the fake
 * translator ("[es] text"): Ana edits her message and Beto's open conversation shows the new
 * text in Spanish, marked "edited", and his inbox preview follows; Ana deletes it and both see
 * "Message deleted" in its place. Escape cancels an edit; a delete asks first.
 */
import { expect, test } from "@playwright/test";
import { baseUrl, messagesWithText, openChat, person, send, snap, twoInADirectChat } from "./support";

test("a sender edits a message, seen live in the reader's language, then deletes it for everyone", async ({ browser }) => {
  const ana = person("ana", "Ana", "en");
  const beto = person("beto", "Beto", "es");
  const { chatId, pageA, pageB, consoles, close } = await twoInADirectChat(browser, ana, beto);

  await send(pageA, "See you at noon");
  await expect(messagesWithText(pageB, "[es] See you at noon")).toHaveCount(1);
  await expect(messagesWithText(pageA, "See you at noon")).toHaveCount(1);
  // Ana's bubble, found by its id: its text changes below.
  const messageId = await messagesWithText(pageA, "See you at noon").getAttribute("data-message-id");
  const mine = pageA.locator(`[data-testid="message"][data-message-id="${messageId}"]`);
  // Beto has no actions on Ana's message in their direct chat.
  await expect(messagesWithText(pageB, "[es] See you at noon").getByTestId("message-actions")).toHaveCount(0);

  // Escape cancels an edit, leaving the text as it was.
  await mine.getByRole("button", { name: "Message actions" }).click();
  await mine.getByRole("button", { name: "Edit" }).click();
  const editor = mine.getByLabel("Edit message");
  await expect(editor).toBeFocused();
  await editor.fill("Never mind");
  await editor.press("Escape");
  await expect(pageA.getByLabel("Edit message")).toHaveCount(0);
  await expect(messagesWithText(pageA, "See you at noon")).toHaveCount(1);

  // The edit itself: Beto sees it in Spanish, marked edited, and his inbox follows.
  await mine.getByRole("button", { name: "Message actions" }).click();
  await mine.getByRole("button", { name: "Edit" }).click();
  await mine.getByLabel("Edit message").fill("See you at one instead");
  await snap(pageA, "30-message-editing");
  await mine.getByLabel("Edit message").press("Enter");
  const edited = messagesWithText(pageB, "[es] See you at one instead");
  await expect(edited).toHaveCount(1);
  await expect(edited.getByTestId("edited")).toBeVisible();
  await expect(messagesWithText(pageA, "See you at one instead").getByTestId("edited")).toBeVisible();
  await expect(messagesWithText(pageB, "[es] See you at noon")).toHaveCount(0);
  await snap(pageB, "31-message-edited");

  // Delete for everyone, after a confirmation: a tombstone on both sides, in the inbox too.
  await mine.getByRole("button", { name: "Message actions" }).click();
  await mine.getByRole("button", { name: "Delete" }).click();
  await expect(pageA.getByText("Delete for everyone?")).toBeVisible();
  await pageA.getByRole("group", { name: "Delete for everyone?" }).getByRole("button", { name: "Delete" }).click();
  await expect(pageB.getByTestId("message-deleted")).toHaveCount(1);
  await expect(pageA.getByTestId("message-deleted")).toHaveCount(1);
  await expect(messagesWithText(pageB, "[es] See you at one instead")).toHaveCount(0);
  await snap(pageB, "32-message-deleted");

  await pageB.goto(`${baseUrl()}/chats`);
  await expect(pageB.getByTestId("chat-item").first()).toContainText("Message deleted");
  // After a reload the tombstone is still there, from history.
  await openChat(pageB, chatId);
  await expect(pageB.getByTestId("message-deleted")).toHaveCount(1);

  expect(consoles.flatMap((c) => c.errors)).toEqual([]);
  await close();
});
