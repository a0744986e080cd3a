import type { Message } from "@/lib/types";

/**
 * How a message's translation reads to one reader:
 * - "untranslated": their translation is still owed (a failure or a late language): a warning.
 * - "translated": shown in their language from another; the original is one click away.
 * - "nothing_to_translate": only emoji, links, numbers, mentions or code: the same in every
 *   language, delivered as written on purpose: a quiet note, never a warning.
 * - "reader_reads_language": written in a language the reader listed among those they also
 *   read (profile), so delivered as written on purpose: the same quiet note.
 * - null: written in their language (or their own message): nothing to say.
 * Servers that predate `translation_skipped` never send it; their messages read as before.
 */
export type TranslationState = "untranslated" | "translated" | "nothing_to_translate" | "reader_reads_language" | null;

export function translationState(message: Message, mine: boolean): TranslationState {
  if (mine) return null;
  if (message.translated === false) return "untranslated";
  if (message.translation_skipped === "nothing_to_translate") return "nothing_to_translate";
  if (message.translation_skipped === "reader_reads_language") return "reader_reads_language";
  const original = message.original_text ?? message.text;
  const originalLanguage = message.original_language ?? message.language;
  if (originalLanguage !== message.language && original !== message.text) return "translated";
  return null;
}
