/**
 * Self-service data rights on the profile page: a person downloads their data (the JSON the
 * operators' export makes) and deletes their account with their password typed again; the
 * browser goes back to log in, the token is dead, and the other person in the chat sees the
 * message as "[message deleted]".
 */
import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { apiUrl, baseUrl, expectConnected, logInInBrowser, newContext, person, signUpByApi, snap, tokenOf, watchConsole } from "./support";

/** Console errors the browser prints for refusals this test causes on purpose. */
const EXPECTED_CONSOLE = [/Failed to load resource: the server responded with a status of 403/];

async function api(method: string, path: string, token: string, body?: unknown): Promise<Response> {
  return fetch(`${apiUrl()}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

test("download my data, then delete my account", async ({ browser }) => {
  const ana = person("ana", "Ana", "es");
  const bea = person("bea", "Bea", "en");
  await signUpByApi(ana);
  await signUpByApi(bea);
  const anaToken = await tokenOf(ana);
  const beaToken = await tokenOf(bea);
  const created = await api("POST", "/api/chats", anaToken, { username: bea.username });
  expect(created.status).toBe(201);
  const chatId = ((await created.json()) as { chat_id: string }).chat_id;
  expect((await api("POST", `/api/chats/${chatId}/messages`, anaToken, { text: "hola desde ana" })).status).toBe(201);
  expect((await api("POST", `/api/chats/${chatId}/messages`, beaToken, { text: "hi from bea" })).status).toBe(201);

  const context = await newContext(browser);
  const page = await context.newPage();
  const console = watchConsole(page, "ana");
  await logInInBrowser(page, ana);
  const browserToken = (await page.evaluate(() => localStorage.getItem("commonality.token"))) as string;
  await page.goto(`${baseUrl()}/profile`);
  await expect(page.getByRole("heading", { name: "Your data" })).toBeVisible();

  // The download is the export: her account and what she wrote, nobody else's words.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download my data" }).click()]);
  expect(download.suggestedFilename()).toMatch(/^commonality-data-\d{4}-\d{2}-\d{2}\.json$/);
  const exported = JSON.parse(readFileSync((await download.path()) as string, "utf-8"));
  expect(exported.format).toBe("commonality-user-export/1");
  expect(exported.account.username).toBe(ana.username);
  expect(exported.messages.map((m: { original_text: string }) => m.original_text)).toEqual(["hola desde ana"]);
  expect(JSON.stringify(exported)).not.toContain("hi from bea");
  await expect(page.getByRole("status").filter({ hasText: "Saved commonality-data-" })).toBeVisible();

  await page.getByRole("button", { name: "Delete my account" }).click();
  const password = page.getByLabel("Your password");
  await expect(password).toBeVisible();
  await page.getByRole("button", { name: "Cancel" }).scrollIntoViewIfNeeded();
  await snap(page, "20-profile-your-data-delete");

  // A wrong password changes nothing, and says so.
  await password.fill("not my password");
  await page.getByRole("button", { name: "Delete my account for good" }).click();
  await expect(page.getByTestId("delete-account-error")).toHaveText("Incorrect password");
  expect((await api("GET", "/api/auth/me", browserToken)).status).toBe(200);
  await expectConnected(page);

  await password.fill(ana.password);
  await page.getByRole("button", { name: "Delete my account for good" }).click();
  await page.waitForURL(`${baseUrl()}/`);
  await expect(page.getByTestId("logout-reason")).toHaveText("Your account and your data were deleted.");
  await snap(page, "21-account-deleted");
  expect(await page.evaluate(() => localStorage.getItem("commonality.token"))).toBeNull();

  // Every token of hers is dead on the server; bea keeps the chat, with a tombstone.
  expect((await api("GET", "/api/auth/me", browserToken)).status).toBe(401);
  expect((await api("GET", "/api/auth/me", anaToken)).status).toBe(401);
  const history = (await (await api("GET", `/api/chats/${chatId}/messages`, beaToken)).json()) as {
    messages: { text: string }[];
  };
  expect(history.messages.map((m) => m.text).sort()).toEqual(["[message deleted]", "hi from bea"]);

  const unexpected = console.errors.filter((line) => !EXPECTED_CONSOLE.some((re) => re.test(line)));
  expect(unexpected).toEqual([]);
  await context.close();
});
