import { describe, expect, it } from "vitest";
import { resultHref, searchPageHref, searchPath, searchQueryProblem, snippetText, SEARCH_QUERY_MAX_CHARS } from "@/lib/search";

describe("search", () => {
  it("asks the backend with the query and the cursor, encoded", () => {
    expect(searchPath("café & co")).toBe("/api/search?q=caf%C3%A9+%26+co");
    expect(searchPath("hola", "abc=")).toBe("/api/search?q=hola&cursor=abc%3D");
    expect(searchPath("hola", null)).toBe("/api/search?q=hola");
  });

  it("leads a result to the message in its chat", () => {
    expect(resultHref({ chat_id: "a b", seq: 12 })).toBe("/chats/a%20b?at=12");
    expect(searchPageHref("  library  ")).toBe("/search?q=library");
  });

  it("refuses an empty or over-long query before asking", () => {
    expect(searchQueryProblem("   ")).toMatch(/word/);
    expect(searchQueryProblem("x".repeat(SEARCH_QUERY_MAX_CHARS + 1))).toMatch(/at most/);
    expect(searchQueryProblem("library")).toBeNull();
  });

  it("reads a snippet as plain text", () => {
    expect(
      snippetText({
        snippet: [
          { text: "See you at the ", match: false },
          { text: "library", match: true },
        ],
      }),
    ).toBe("See you at the library");
  });
});
