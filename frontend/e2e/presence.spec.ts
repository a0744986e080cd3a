/**
 * Presence: Ana opens her chat with Beto while Beto has the app open: his name's line says
 * "online". Beto closes his page: it turns into "last seen just now". Ana's profile has the
 * switch that hides her own.
 */
import { expect, test } from "@playwright/test";
import { apiUrl, baseUrl, createChat, directChatId, expectConnected, logInInBrowser, newContext, person, signUpByApi, snap, tokenOf, watchConsole } from "./support";

test("a 1:1 chat shows the other person online, then when they were last seen", async ({ browser }) => {
  const ana = person("ana", "Ana", "es");
  const beto = person("beto", "Beto", "en");
  await signUpByApi(ana);
  await signUpByApi(beto);
  const chatId = await directChatId(ana, beto);

  const betoContext = await newContext(browser);
  const betoPage = await betoContext.newPage();
  await logInInBrowser(betoPage, beto);

  const anaContext = await newContext(browser);
  const anaPage = await anaContext.newPage();
  const consoleErrors = watchConsole(anaPage, "ana");
  await logInInBrowser(anaPage, ana);
  await anaPage.goto(`${baseUrl()}/chats/${chatId}`);
  await expectConnected(anaPage);
  const status = anaPage.getByTestId("presence-status");
  await expect(status).toHaveText("online");
  await snap(anaPage, "presence-1-online");

  await betoContext.close();
  await expect(status).toHaveText("last seen just now");
  await snap(anaPage, "presence-2-last-seen");

  // Ana hides her own presence from the profile page.
  await anaPage.goto(`${baseUrl()}/profile`);
  const toggle = anaPage.getByLabel("Show when I'm online");
  await expect(toggle).toBeChecked();
  await toggle.click();
  await expect(toggle).not.toBeChecked();
  await expect(toggle).toBeEnabled();
  await snap(anaPage, "presence-3-profile-switch");
  const me = await fetch(`${apiUrl()}/api/auth/me`, { headers: { Authorization: `Bearer ${await tokenOf(ana)}` } });
  expect(((await me.json()) as { presence_visible: boolean }).presence_visible).toBe(false);

  // Hiding her own, she no longer sees when Beto was last seen.
  await anaPage.goto(`${baseUrl()}/chats/${chatId}`);
  await expectConnected(anaPage);
  await expect(anaPage.getByTestId("conv-subtitle")).toContainText(`@${beto.username}`);
  await anaPage.waitForTimeout(1500);
  await expect(status).toHaveCount(0);
  expect(consoleErrors.errors).toEqual([]);
  await anaContext.close();
});

test("a group's details show a dot for each member who is online", async ({ browser }) => {
  const ana = person("ana", "Ana", "es");
  const beto = person("beto", "Beto", "en");
  const cai = person("cai", "Cai", "fr");
  for (const who of [ana, beto, cai]) await signUpByApi(who);
  const groupId = await createChat(await tokenOf(ana), { title: "Trip", usernames: [beto.username, cai.username] });

  const caiContext = await newContext(browser);
  await logInInBrowser(await caiContext.newPage(), cai);

  const anaContext = await newContext(browser);
  const anaPage = await anaContext.newPage();
  await logInInBrowser(anaPage, ana);
  await anaPage.goto(`${baseUrl()}/chats/${groupId}`);
  await expectConnected(anaPage);
  await anaPage.getByRole("button", { name: "Chat details" }).click();
  const details = anaPage.locator("#chat-info");
  const caiRow = details.getByRole("listitem").filter({ hasText: `@${cai.username}` });
  const betoRow = details.getByRole("listitem").filter({ hasText: `@${beto.username}` });
  await expect(caiRow.getByTestId("presence-dot")).toBeVisible();
  await expect(betoRow.getByTestId("presence-dot")).toHaveCount(0);
  await snap(anaPage, "presence-4-group-details");

  await caiContext.close();
  await expect(caiRow.getByTestId("presence-dot")).toHaveCount(0);
  await expect(caiRow).toContainText("last seen just now");
  await anaContext.close();
});
