/**
 * Reactions in two browsers against the real backend: one person reacts to a message from the
 * "Add reaction" picker, the other sees the chip arrive live (`reaction_updated`), joins in by
 * pressing it, and each toggles their own off again. The picker works from the keyboard, and
 * Escape closes it, giving focus back to its button.
 */
import { expect, test, type Page } from "@playwright/test";
import { expectConnected, person, send, snap, twoInADirectChat } from "./support";

function firstMessage(page: Page) {
  return page.locator('[data-testid="message"][data-seq="1"]');
}

function chip(page: Page, emoji: string) {
  return firstMessage(page).locator(`[data-testid="reaction-chip"][data-emoji="${emoji}"]`);
}

test("two people react to a message, see each other's reactions live, and toggle them off", async ({ browser }) => {
  const ava = person("ava", "Ava", "en");
  const beto = person("beto", "Beto", "es");
  const { pageA, pageB, consoles, close } = await twoInADirectChat(browser, ava, beto);

  await send(pageA, "We won the match this afternoon!");
  await expect(firstMessage(pageB)).toBeVisible();
  await expect(firstMessage(pageA).getByTestId("reaction-chip")).toHaveCount(0);

  // Beto opens the picker from the keyboard; Escape closes it and gives focus back.
  const addB = firstMessage(pageB).getByRole("button", { name: "Add reaction" });
  await addB.focus();
  await pageB.keyboard.press("Enter");
  const picker = firstMessage(pageB).getByRole("group", { name: "Quick reactions" });
  await expect(picker).toBeVisible();
  await expect(addB).toHaveAttribute("aria-expanded", "true");
  await expect(picker.getByRole("button", { name: "React with thumbs up" })).toBeFocused();
  await pageB.keyboard.press("Escape");
  await expect(picker).toHaveCount(0);
  await expect(addB).toBeFocused();

  // He reacts with a thumbs up: both see one, his own highlighted, Ava's not.
  await addB.click();
  await picker.getByRole("button", { name: "React with thumbs up" }).click();
  await expect(picker).toHaveCount(0);
  await expect(chip(pageB, "👍")).toHaveAttribute("aria-pressed", "true");
  await expect(chip(pageA, "👍")).toHaveText("👍1");
  await expect(chip(pageA, "👍")).toHaveAttribute("aria-pressed", "false");
  await expect(chip(pageA, "👍")).toHaveAccessibleName(/^👍 1 reaction from Beto/);

  // Ava joins in by pressing the chip: two, and both names.
  await chip(pageA, "👍").click();
  await expect(chip(pageB, "👍")).toHaveText("👍2");
  await expect(chip(pageB, "👍")).toHaveAccessibleName(/^👍 2 reactions from You and Ava/);
  await expect(chip(pageA, "👍")).toHaveAttribute("aria-pressed", "true");

  // One emoji per person: Ava choosing a heart replaces her thumbs up.
  await firstMessage(pageA).getByRole("button", { name: "Add reaction" }).click();
  await firstMessage(pageA).getByRole("button", { name: "React with heart" }).click();
  await expect(chip(pageB, "❤️")).toHaveText("❤️1");
  await expect(chip(pageB, "👍")).toHaveText("👍1");
  await snap(pageB, "23-reactions");

  // Each toggles theirs off; the other sees it go.
  await chip(pageB, "👍").click();
  await expect(chip(pageA, "👍")).toHaveCount(0);
  await chip(pageA, "❤️").click();
  await expect(chip(pageB, "❤️")).toHaveCount(0);
  await expect(firstMessage(pageA).getByTestId("reaction-chip")).toHaveCount(0);

  // After a reload the history carries the reactions.
  await firstMessage(pageA).getByRole("button", { name: "Add reaction" }).click();
  await firstMessage(pageA).getByRole("button", { name: "React with laughing" }).click();
  await expect(chip(pageB, "😂")).toBeVisible();
  await pageB.reload();
  await expectConnected(pageB);
  await expect(chip(pageB, "😂")).toHaveAccessibleName(/^😂 1 reaction from Ava/);

  expect(consoles.flatMap((c) => c.errors)).toEqual([]);
  await close();
});
