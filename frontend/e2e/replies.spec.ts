/**
 * Replies in two browsers against the real backend: Beto (Spanish) replies to Ana (English);
 * each sees the quote in their own language. In a long chat, clicking a quote whose original
 * is not loaded yet loads older pages until it is there, scrolls to it and highlights it; and
 * `/chats/<id>?at=<seq>` opens the chat at that message.
 */
import { expect, test, type Page } from "@playwright/test";
import { apiUrl, directChatId, expectConnected, logInInBrowser, messagesWithText, newContext, openChat, person, send, signUpByApi, snap, tokenOf, twoInADirectChat, watchConsole } from "./support";

const ORIGINAL = "Shall we have dinner together tomorrow night at the usual place?";
const REPLY = "Sí, claro que sí, nos vemos allí a las nueve de la noche.";

async function post(token: string, chatId: string, body: object): Promise<number> {
  const response = await fetch(`${apiUrl()}/api/chats/${chatId}/messages`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const reply = (await response.json()) as { message?: { seq: number } };
  if (response.status !== 201 || !reply.message) throw new Error(`send: ${response.status} ${JSON.stringify(reply)}`);
  return reply.message.seq;
}

function bubbleAt(page: Page, seq: number) {
  return page.locator(`[data-testid="message"][data-seq="${seq}"]`);
}

test("a reply quotes the original in each reader's language", async ({ browser }) => {
  const ana = person("ana", "Ana", "en");
  const beto = person("beto", "Beto", "es");
  const { pageA, pageB, consoles, close } = await twoInADirectChat(browser, ana, beto);

  await send(pageA, ORIGINAL);
  const translated = `[es] ${ORIGINAL}`;
  const original = messagesWithText(pageB, translated);
  await expect(original).toHaveCount(1);

  // Reply, then Escape cancels it; Reply again, by keyboard.
  await original.getByRole("button", { name: "Reply", exact: true }).click();
  const bar = pageB.getByTestId("replying-to");
  await expect(bar).toContainText("Replying to Ana");
  await expect(bar).toContainText(translated);
  await expect(pageB.getByTestId("composer")).toBeFocused();
  await pageB.keyboard.press("Escape");
  await expect(bar).toHaveCount(0);
  await original.getByRole("button", { name: "Reply", exact: true }).focus();
  await pageB.keyboard.press("Enter");
  await expect(bar).toBeVisible();
  await pageB.getByTestId("composer").fill(REPLY);
  await snap(pageB, "replies-composer");
  await pageB.getByTestId("composer").press("Enter");
  await expect(bar).toHaveCount(0);

  // Beto's own bubble quotes Ana in Spanish; Ana's quotes her in English.
  const betoReply = messagesWithText(pageB, REPLY);
  await expect(betoReply.getByTestId("reply-quote")).toContainText(translated);
  const anaReply = messagesWithText(pageA, `[en] ${REPLY}`);
  await expect(anaReply.getByTestId("reply-quote")).toContainText(ORIGINAL);
  await expect(anaReply.getByTestId("reply-quote")).not.toContainText("[es]");
  await expect(anaReply.getByTestId("reply-quote")).toContainText("You");
  // After a reload (history), the same.
  await pageA.reload();
  await expectConnected(pageA);
  await expect(messagesWithText(pageA, `[en] ${REPLY}`).getByTestId("reply-quote")).toContainText(ORIGINAL);
  await snap(pageA, "replies-quote");

  for (const console of consoles) expect(console.errors).toEqual([]);
  await close();
});

test("a quote jumps to an original not loaded yet, and ?at= opens the chat at a message", async ({ browser }) => {
  const ana = person("ana", "Ana", "en");
  const beto = person("beto", "Beto", "es");
  await signUpByApi(ana);
  await signUpByApi(beto);
  const chatId = await directChatId(ana, beto);
  const tokens = [await tokenOf(ana), await tokenOf(beto)];

  // The original, then 120 numbers (nothing to translate: no provider call), then the reply:
  // the original is two pages older than what the chat first loads.
  // The e2e backend lifts the per-person message limit (global-setup.ts), so nothing waits.
  const first = await post(tokens[0], chatId, { text: ORIGINAL });
  await post(tokens[1], chatId, { text: "1000" });
  for (let i = 1; i < 120; i += 8) {
    // The rest side by side, a few at a time: only "1000" has to be next after the original.
    const batch = [];
    for (let j = i; j < Math.min(i + 8, 120); j++) batch.push(post(tokens[j % 2], chatId, { text: String(1000 + j) }));
    await Promise.all(batch);
  }
  const replySeq = await post(tokens[1], chatId, { text: REPLY, reply_to_seq: first });

  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  const consoleA = watchConsole(page, "ana");
  await logInInBrowser(page, ana);
  await openChat(page, chatId);
  const reply = bubbleAt(page, replySeq);
  await expect(reply.getByTestId("reply-quote")).toContainText(ORIGINAL);
  await expect(bubbleAt(page, first)).toHaveCount(0);

  await reply.getByTestId("reply-quote").click();
  const target = bubbleAt(page, first);
  await expect(target).toBeInViewport();
  await expect(target).toHaveAttribute("data-highlight", "true");
  await expect(target).toBeFocused();
  await expect(target.getByTestId("message-text")).toHaveText(ORIGINAL);
  await snap(page, "replies-jump");
  // The highlight fades.
  await expect(target).not.toHaveAttribute("data-highlight", "true", { timeout: 5_000 });

  // A link to one message: opened at it, highlighted.
  await openChat(page, chatId, `?at=${first + 1}`);
  const linked = bubbleAt(page, first + 1);
  await expect(linked).toBeInViewport();
  await expect(linked).toHaveAttribute("data-highlight", "true");
  await expect(linked.getByTestId("message-text")).toHaveText("1000");

  expect(consoleA.errors).toEqual([]);
  await ctx.close();
});
