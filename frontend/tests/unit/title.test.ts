import { describe, expect, it } from "vitest";
import { APP_NAME, documentTitle } from "@/lib/title";

describe("the tab's title", () => {
  it("names the page, then the app", () => {
    expect(documentTitle("Beto Tester")).toBe(`Beto Tester · ${APP_NAME}`);
    expect(documentTitle("Your profile", 0)).toBe("Your profile · Commonality");
  });

  it("is the app's alone while the page has no name yet", () => {
    expect(documentTitle(null)).toBe("Commonality");
    expect(documentTitle("")).toBe("Commonality");
  });

  it("puts the unread count first", () => {
    expect(documentTitle("Chats", 3)).toBe("(3) Chats · Commonality");
    expect(documentTitle(null, 1)).toBe("(1) Commonality");
  });
});
