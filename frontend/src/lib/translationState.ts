import type { Message } from "@/lib/types";

/**
 * How a message's translation reads to one reader:
 * - "untranslated": their translation is still owed (a failure or a late language): a warning.
 * - "translated": shown in their language from another; the original is one click away.
 * - "nothing_to_translate": only emoji, links, numbers, mentions or code: the same in every
 *   language, delivered as written on purpose: a quiet note, never a warning.
 * - "reader_reads_language": written in a language the reader listed among those they also
 *   read (profile), so delivered as written on purpose: the same quiet note.
 * - "written_in_your_language": written in the reader's language by someone whose own language
 *   is another (a Spanish speaker writing English to an English reader), so nothing needed
 *   translating: the same quiet note, so the missing translation reads as meant.
 * - null: written in their language by someone who speaks it (or their own message): nothing
 *   to say.
 * Servers that predate `translation_skipped` never send it; their messages read as before.
 */
export type TranslationState =
  | "untranslated"
  | "translated"
  | "nothing_to_translate"
  | "reader_reads_language"
  | "written_in_your_language"
  | null;

/** `senderLanguage`: the sender's own (profile) language, when the chat's members are known. */
export function translationState(message: Message, mine: boolean, senderLanguage?: string): TranslationState {
  if (mine) return null;
  if (message.translated === false) return "untranslated";
  if (message.translation_skipped === "nothing_to_translate") return "nothing_to_translate";
  if (message.translation_skipped === "reader_reads_language") return "reader_reads_language";
  const original = message.original_text ?? message.text;
  const originalLanguage = message.original_language ?? message.language;
  if (originalLanguage !== message.language && original !== message.text) return "translated";
  if (senderLanguage && originalLanguage === message.language && senderLanguage !== message.language) {
    return "written_in_your_language";
  }
  return null;
}
