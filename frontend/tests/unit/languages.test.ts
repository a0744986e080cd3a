import { describe, expect, it } from "vitest";
import { languageOptionLabel } from "@/lib/languages";

describe("languages", () => {
  it("a language to choose from: its own name, then the English one when they differ", () => {
    expect(languageOptionLabel({ code: "es", name: "Spanish", native_name: "Español" })).toBe("Español — Spanish");
    expect(languageOptionLabel({ code: "en", name: "English", native_name: "English" })).toBe("English");
  });
});
