import { describe, expect, it } from "vitest";
import { languageOptionLabel, readLanguagesToggled, sameLanguages } from "@/lib/languages";

describe("languages", () => {
  it("a language to choose from: its own name, then the English one when they differ", () => {
    expect(languageOptionLabel({ code: "es", name: "Spanish", native_name: "Español" })).toBe("Español — Spanish");
    expect(languageOptionLabel({ code: "en", name: "English", native_name: "English" })).toBe("English");
  });

  it("languages I read: toggled in the offered order, never the native language", () => {
    const offered = ["en", "es", "fr", "de"];
    expect(readLanguagesToggled([], "fr", "es", offered)).toEqual(["fr"]);
    expect(readLanguagesToggled(["fr"], "en", "es", offered)).toEqual(["en", "fr"]);
    expect(readLanguagesToggled(["en", "fr"], "en", "es", offered)).toEqual(["fr"]);
    expect(readLanguagesToggled(["fr", "es"], "de", "es", offered)).toEqual(["fr", "de"]);
    expect(sameLanguages(["en", "fr"], ["fr", "en"])).toBe(true);
    expect(sameLanguages(["en"], ["en", "fr"])).toBe(false);
  });
});
