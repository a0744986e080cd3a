/**
 * Message search against the real backend: Eva (Spanish) writes to Amy (English); Amy types a
 * word of it in the inbox's search box and finds the message shown in her language (the fake
 * translator's "[en] ..."), the word marked; Enter on a result (or a click) opens the chat at
 * that message (`/chats/<id>?at=<seq>`). axe checks the search page at both widths.
 */
import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { apiUrl, DESKTOP, directChatId, logInInBrowser, newContext, person, PHONE, signUpByApi, snap, tokenOf, watchConsole } from "./support";

const SPANISH = "Nos vemos mañana en la biblioteca del centro";

async function sendByApi(token: string, chatId: string, text: string): Promise<number> {
  const response = await fetch(`${apiUrl()}/api/chats/${chatId}/messages`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ text }),
  });
  const body = (await response.json()) as { message?: { seq: number } };
  if (response.status !== 201 || !body.message) throw new Error(`send: ${response.status} ${JSON.stringify(body)}`);
  return body.message.seq;
}

test("a reader finds a message in their own language and opens it in its chat", async ({ browser }) => {
  const eva = person("eva", "Eva", "es");
  const amy = person("amy", "Amy", "en");
  await signUpByApi(eva);
  await signUpByApi(amy);
  const chatId = await directChatId(eva, amy);
  const evaToken = await tokenOf(eva);
  await sendByApi(evaToken, chatId, "Hola Amy");
  const seq = await sendByApi(evaToken, chatId, SPANISH);

  const context = await newContext(browser);
  const page = await context.newPage();
  const consoleErrors = watchConsole(page, "amy");
  await logInInBrowser(page, amy);

  // The inbox's box: a labelled search field; Enter searches.
  const box = page.getByRole("searchbox", { name: "Search your messages" });
  await box.fill("Biblioteca");
  await snap(page, "search-00-inbox-box");
  await box.press("Enter");
  await page.waitForURL(/\/search\?q=Biblioteca$/);

  const results = page.getByRole("list", { name: "Results for Biblioteca" });
  const result = results.getByTestId("search-result");
  await expect(result).toHaveCount(1);
  // Amy's language (the fake translator writes "[en] <text>"), the word marked, the sender named.
  await expect(result).toContainText(`[en] ${SPANISH}`);
  await expect(result.locator("mark")).toHaveText("biblioteca");
  await expect(result).toContainText("Eva Tester");
  await expect(page.getByTestId("search-status")).toHaveText("1 message found for “Biblioteca”.");
  await expect(result).toHaveAttribute("href", `/chats/${chatId}?at=${seq}`);
  await snap(page, "search-01-results");

  for (const viewport of [PHONE, DESKTOP]) {
    await page.setViewportSize(viewport);
    const scan = await new AxeBuilder({ page }).analyze();
    const serious = scan.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
  }

  // A word that is nowhere: said so.
  const field = page.getByRole("searchbox", { name: "Words to find, in any language" });
  await field.fill("zeppelin");
  await field.press("Enter");
  await expect(page.getByTestId("search-status")).toHaveText("No messages found for “zeppelin”.");
  await snap(page, "search-02-nothing");

  // Back to the result, then to the message by keyboard.
  await field.fill("biblioteca");
  await field.press("Enter");
  await expect(result).toHaveCount(1);
  await result.focus();
  await page.keyboard.press("Enter");
  await page.waitForURL(new RegExp(`/chats/${chatId}\\?at=${seq}$`));
  await expect(page.getByTestId("message-text").getByText(`[en] ${SPANISH}`, { exact: true })).toBeVisible();

  expect(consoleErrors.errors).toEqual([]);
  await context.close();
});
