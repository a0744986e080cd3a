/** The fields of a person's profile that sign-up and the profile page both ask for. */
import type { InputHTMLAttributes } from "react";
import { languageOptionLabel } from "@/lib/languages";
import type { Language } from "@/lib/types";
import { Field } from "./Field";

type NameInput = Pick<InputHTMLAttributes<HTMLInputElement>, "value" | "onChange" | "onBlur"> & { error?: string | null };

const NAME_PARTS = [
  { part: "first", label: "First name", autoComplete: "given-name" },
  { part: "last", label: "Last name", autoComplete: "family-name" },
] as const;

/** First and last name side by side; their ids are `<idPrefix>-first` and `<idPrefix>-last`. */
export function NameFields({ idPrefix, first, last, required }: { idPrefix: string; first: NameInput; last: NameInput; required?: boolean }) {
  return (
    <div className="field-row">
      {NAME_PARTS.map(({ part, label, autoComplete }) => (
        <Field
          key={part}
          id={`${idPrefix}-${part}`}
          label={label}
          autoComplete={autoComplete}
          maxLength={100}
          required={required}
          {...(part === "first" ? first : last)}
        />
      ))}
    </div>
  );
}

/** The offered languages as a select's options. */
export function LanguageOptions({ languages }: { languages: Language[] | null }) {
  return languages?.map((language) => (
    <option key={language.code} value={language.code}>
      {languageOptionLabel(language)}
    </option>
  ));
}
