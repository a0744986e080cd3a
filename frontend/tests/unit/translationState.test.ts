import { describe, expect, it } from "vitest";
import { translationState } from "@/lib/translationState";
import type { Message } from "@/lib/types";

function message(extra: Partial<Message>): Message {
  return {
    message_id: "m1",
    text: "hola",
    from_user_id: "u2",
    language: "es",
    timestamp: "2026-01-01T00:00:00Z",
    seq: 1,
    kind: "text",
    original_text: "hola",
    original_language: "es",
    translated: true,
    client_msg_id: null,
    ...extra,
  };
}

describe("translationState", () => {
  it("calls a message with nothing to translate a quiet note, not a failure", () => {
    const thumbs = message({ text: "👍", original_text: "👍", original_language: "en", translation_skipped: "nothing_to_translate" });
    expect(translationState(thumbs, false)).toBe("nothing_to_translate");
  });

  it("calls a message in a language the reader also reads a quiet note, not a failure", () => {
    const spanish = message({ translation_skipped: "reader_reads_language" });
    expect(translationState(spanish, false)).toBe("reader_reads_language");
  });

  it("says nothing of a message as written from servers that predate languages one reads", () => {
    expect(translationState(message({}), false)).toBeNull();
  });

  it("says nothing of one's own message, skipped or not", () => {
    expect(translationState(message({ translation_skipped: "nothing_to_translate" }), true)).toBeNull();
    expect(translationState(message({ translation_skipped: "reader_reads_language" }), true)).toBeNull();
  });

  it("says nothing of a message written in the reader's language", () => {
    expect(translationState(message({ text: "see you", original_text: "see you", language: "en", original_language: "en" }), false)).toBeNull();
    // By someone whose own language it is too.
    expect(translationState(message({ text: "see you", original_text: "see you", language: "en", original_language: "en" }), false, "en")).toBeNull();
  });

  it("notes a message written in the reader's language by someone whose language is another", () => {
    const english = message({ text: "see you", original_text: "see you", language: "en", original_language: "en" });
    expect(translationState(english, false, "es")).toBe("written_in_your_language");
    expect(translationState(english, true, "es")).toBeNull();
    // A translation owed or made says so, whatever the sender's language.
    expect(translationState(message({ original_text: "hello", original_language: "en" }), false, "es")).toBe("translated");
  });

  it("offers the original of a translated message", () => {
    expect(translationState(message({ original_text: "hello", original_language: "en" }), false)).toBe("translated");
  });

  it("warns of an owed translation, from servers old and new", () => {
    expect(translationState(message({ translated: false, original_language: "en" }), false)).toBe("untranslated");
  });
});
