/**
 * A chat's glossary and formality in the chat's info panel, and "languages I also read" on
 * the profile page, in two browsers against the real backend: an edit by one member appears
 * in the other's open panel without reloading (`glossary_updated`). A message written in the
 * reader's language by someone whose own language is another comes untranslated, with a quiet
 * note saying why.
 */
import { expect, test, type Page } from "@playwright/test";
import { baseUrl, messagesWithText, openChat, person, send, snap, twoInADirectChat } from "./support";

async function showInfo(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Chat details" }).click();
  await expect(page.getByRole("heading", { name: "Glossary" })).toBeVisible();
}

async function openInfo(page: Page, chatId: string): Promise<void> {
  await openChat(page, chatId);
  await showInfo(page);
}

test("members share a live glossary; each reader picks formality and the languages they read", async ({ browser }) => {
  const elena = person("elena", "Elena", "es");
  const finn = person("finn", "Finn", "en");
  const { chatId, pageA: pageE, pageB: pageF, consoles, close } = await twoInADirectChat(browser, elena, finn);
  await showInfo(pageE);
  await showInfo(pageF);

  // Elena adds a fixed translation and a name kept as written; Finn sees both at once.
  await pageE.getByLabel("Term", { exact: true }).fill("abuela");
  await pageE.getByLabel(/^Translation/).fill("grandma");
  await pageE.getByRole("button", { name: "Add", exact: true }).click();
  await pageE.getByLabel("Term", { exact: true }).fill("Nico's");
  await pageE.getByRole("button", { name: "Add", exact: true }).click();
  const finnTerms = pageF.getByRole("list", { name: "Glossary terms" });
  await expect(finnTerms).toContainText("abuela → grandma");
  await expect(finnTerms).toContainText("Nico's kept as written");

  // Finn edits one and removes the other; Elena's panel follows.
  await pageF.getByRole("button", { name: "Edit abuela" }).click();
  await pageF.getByLabel(/^Translation/).fill("granny");
  await pageF.getByRole("button", { name: "Save", exact: true }).click();
  await pageF.getByRole("button", { name: "Remove Nico's" }).click();
  const elenaTerms = pageE.getByRole("list", { name: "Glossary terms" });
  await expect(elenaTerms).toContainText("abuela → granny");
  await expect(elenaTerms).not.toContainText("Nico's");

  // A duplicate is refused before sending.
  await pageE.getByLabel("Term", { exact: true }).fill("ABUELA");
  await pageE.getByRole("button", { name: "Add", exact: true }).click();
  await expect(pageE.getByText('"ABUELA" is already in the glossary.')).toBeVisible();

  // Formality is offered to Elena (Spanish has it), not to Finn (English does not), and kept.
  const formality = pageE.getByLabel("How translations address people here");
  await expect(formality).toBeEnabled();
  await formality.selectOption("formal");
  await expect(pageF.getByLabel("How translations address people here")).toHaveCount(0);
  await snap(pageE, "20-chat-glossary");
  await openInfo(pageE, chatId);
  await expect(pageE.getByLabel("How translations address people here")).toHaveValue("formal");

  // Elena writes to Finn in English, his language: nothing to translate, and a note says why.
  const english = "Hello Finn, are you coming to the party at the beach tonight?";
  await pageE.keyboard.press("Escape");
  await send(pageE, english);
  const received = messagesWithText(pageF, english);
  await expect(received).toHaveCount(1);
  await expect(received.getByTestId("written-in-your-language")).toBeVisible();
  await expect(received.getByTestId("toggle-original")).toHaveCount(0);

  // Languages I also read, on the profile page, kept across a reload.
  await pageF.goto(`${baseUrl()}/profile`);
  await pageF.getByRole("checkbox", { name: "French" }).check();
  await pageF.getByRole("button", { name: "Save changes" }).click();
  await expect(pageF.getByText("Saved.")).toBeVisible();
  await pageF.reload();
  await expect(pageF.getByRole("checkbox", { name: "French" })).toBeChecked();
  // A checkbox in a form field keeps a checkbox's size (not a text input's full width).
  const box = await pageF.getByRole("checkbox", { name: "French" }).boundingBox();
  expect(box?.width ?? 0).toBeLessThan(40);
  await expect(pageF.getByRole("checkbox", { name: "Spanish" })).not.toBeChecked();

  const unexpected = consoles.flatMap((c) => c.errors);
  expect(unexpected).toEqual([]);
  await close();
});
