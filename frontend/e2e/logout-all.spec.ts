/**
 * "Log out everywhere": one person signed in on two devices (two browser contexts, so two
 * separate localStorages). Logging out everywhere on one ends the other's session too: the
 * backend closes its socket with 1008, the page checks its session, gets 401 and goes back to
 * log in with the reason.
 */
import { expect, test } from "@playwright/test";
import { apiUrl, baseUrl, expectConnected, logInInBrowser, newContext, person, signUpByApi, snap, watchConsole } from "./support";

/** Console errors the browser itself prints for failures this test causes on purpose. */
const EXPECTED_CONSOLE = [/Failed to load resource: the server responded with a status of 401/];

async function meStatus(token: string): Promise<number> {
  const response = await fetch(`${apiUrl()}/api/auth/me`, { headers: { Authorization: `Bearer ${token}` } });
  return response.status;
}

test("log out everywhere ends the session on every device", async ({ browser }) => {
  const dana = person("dana", "Dana", "en");
  await signUpByApi(dana);
  const laptop = await newContext(browser);
  const phone = await newContext(browser);
  const laptopPage = await laptop.newPage();
  const phonePage = await phone.newPage();
  const consoles = [watchConsole(laptopPage, "laptop"), watchConsole(phonePage, "phone")];

  await logInInBrowser(laptopPage, dana);
  await logInInBrowser(phonePage, dana);
  const laptopToken = await laptopPage.evaluate(() => localStorage.getItem("commonality.token"));
  const phoneToken = await phonePage.evaluate(() => localStorage.getItem("commonality.token"));
  expect(laptopToken).toBeTruthy();
  expect(phoneToken).toBeTruthy();
  expect(laptopToken).not.toBe(phoneToken);

  await laptopPage.goto(`${baseUrl()}/profile`);
  await expectConnected(laptopPage);
  const button = laptopPage.getByRole("button", { name: "Log out everywhere" });
  await expect(button).toBeVisible();
  await snap(laptopPage, "13-profile-log-out-everywhere");

  // Changing one's mind at the confirm changes nothing.
  const questions: string[] = [];
  laptopPage.once("dialog", (dialog) => {
    questions.push(dialog.message());
    void dialog.dismiss();
  });
  await button.click();
  await expect.poll(() => questions.length).toBe(1);
  expect(questions[0]).toMatch(/^Log out on every device\?/);
  await expect(laptopPage).toHaveURL(`${baseUrl()}/profile`);
  await expectConnected(phonePage);
  expect(await meStatus(phoneToken as string)).toBe(200);

  laptopPage.once("dialog", (dialog) => void dialog.accept());
  await button.click();

  await laptopPage.waitForURL(`${baseUrl()}/`);
  await expect(laptopPage.getByTestId("logout-reason")).toHaveText("You logged out on every device.");
  await snap(laptopPage, "14-logged-out-everywhere");

  // The other device is told within a few seconds, without doing anything.
  await phonePage.waitForURL(`${baseUrl()}/`, { timeout: 5_000 });
  await expect(phonePage.getByTestId("logout-reason")).toContainText("Your session has expired. Please log in again.");
  expect(await phonePage.evaluate(() => localStorage.getItem("commonality.token"))).toBeNull();
  expect(await laptopPage.evaluate(() => localStorage.getItem("commonality.token"))).toBeNull();

  // Both tokens are dead on the server, not just forgotten in the browsers.
  expect(await meStatus(laptopToken as string)).toBe(401);
  expect(await meStatus(phoneToken as string)).toBe(401);

  // Logging in again works, on either device.
  await logInInBrowser(phonePage, dana);

  const unexpected = consoles.flatMap((c) => c.errors).filter((line) => !EXPECTED_CONSOLE.some((re) => re.test(line)));
  expect(unexpected).toEqual([]);
  await laptop.close();
  await phone.close();
});
