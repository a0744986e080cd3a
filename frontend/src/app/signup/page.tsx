"use client";

import Link from "next/link";
import { useEffect, useState } from "react";
import { Field } from "@/components/Field";
import { FormError } from "@/components/FormError";
import { useFormValues, useTokenForm } from "@/components/forms";
import { LandingFrame } from "@/components/LandingFrame";
import { PageTitle } from "@/components/PageTitle";
import { LanguageOptions, NameFields } from "@/components/ProfileFields";
import { publicApi } from "@/lib/api";
import { PASSWORD_MIN_LENGTH } from "@/lib/config";
import { useLanguages } from "@/lib/languages";
import { getToken } from "@/lib/session";

const USERNAME_PATTERN = /^[\w.-]{3,50}$/;

function browserLanguage(codes: string[]): string {
  const preferred = typeof navigator === "undefined" ? [] : navigator.languages ?? [navigator.language];
  for (const tag of preferred) {
    const code = tag.split("-")[0].toLowerCase();
    if (codes.includes(code)) return code;
  }
  return codes.includes("en") ? "en" : codes[0] ?? "";
}

export default function SignupPage() {
  const { router, error, busy, submit } = useTokenForm();
  const { languages, error: languagesError, retry } = useLanguages();
  const { values: form, onChangeOf } = useFormValues({ username: "", password: "", first_name: "", last_name: "", native_language: "" });
  const [touched, setTouched] = useState<Record<string, boolean>>({});

  useEffect(() => {
    if (getToken()) router.replace("/chats");
  }, [router]);

  // The language chosen, else the browser's own once the list of languages has it.
  const nativeLanguage = form.native_language || (languages ? browserLanguage(languages.map((l) => l.code)) : "");

  const problems = {
    username: !USERNAME_PATTERN.test(form.username)
      ? "3 to 50 characters: letters, digits, '.', '-' or '_'."
      : null,
    password: form.password.length < PASSWORD_MIN_LENGTH ? `At least ${PASSWORD_MIN_LENGTH} characters.` : null,
    first_name: form.first_name.trim() ? null : "Enter your first name.",
    last_name: form.last_name.trim() ? null : "Enter your last name.",
  };

  /** A checked field's value and handlers; its problem shows once it has been left (or the form sent). */
  const checked = (name: keyof typeof problems) => ({
    value: form[name],
    onChange: onChangeOf(name),
    onBlur: () => setTouched((t) => ({ ...t, [name]: true })),
    error: touched[name] ? problems[name] : null,
  });

  const signUp = {
    check: () => {
      setTouched({ username: true, password: true, first_name: true, last_name: true });
      if (Object.values(problems).some(Boolean)) return "Please fix the highlighted fields.";
      return nativeLanguage ? null : "Choose the language you write and read in.";
    },
    obtainToken: () => publicApi.signup({ ...form, native_language: nativeLanguage, username: form.username.trim() }),
  };

  const passwordLeft = PASSWORD_MIN_LENGTH - form.password.length;

  return (
    <LandingFrame
      headerEnd={
        <Link className="btn ghost" href="/">
          Log in
        </Link>
      }
      mainClassName="center-page top"
    >
      <PageTitle title="Create your account" />
      <section className="card auth-card" aria-labelledby="signup-title">
        <h1 id="signup-title" className="h2">
          Create your account
        </h1>
        <p className="muted">Pick the language you write in. Everything others send you arrives in it.</p>
        <form onSubmit={(event) => submit(event, signUp)} noValidate>
          <div className="field">
            <label htmlFor="signup-language">Your language</label>
            {languagesError ? (
              <p className="field-error" role="alert">
                Couldn&apos;t load languages: {languagesError}{" "}
                <button type="button" className="link-btn" onClick={retry}>
                  Try again
                </button>
              </p>
            ) : (
              <select
                id="signup-language"
                value={nativeLanguage}
                onChange={onChangeOf("native_language")}
                disabled={!languages}
                required
              >
                {!languages && <option value="">Loading languages…</option>}
                <LanguageOptions languages={languages} />
              </select>
            )}
          </div>
          <NameFields idPrefix="signup" first={checked("first_name")} last={checked("last_name")} required />
          <Field
            id="signup-username"
            label="Username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            {...checked("username")}
            hint="Others start chats with you by this name."
            maxLength={50}
            required
          />
          <Field
            id="signup-password"
            label="Password"
            type="password"
            autoComplete="new-password"
            {...checked("password")}
            hint={
              passwordLeft > 0
                ? `At least ${PASSWORD_MIN_LENGTH} characters (${passwordLeft} more).`
                : `At least ${PASSWORD_MIN_LENGTH} characters ✓`
            }
            required
          />
          <FormError message={error} />
          <button className="btn primary block" type="submit" disabled={busy}>
            {busy ? "Creating account…" : "Create account"}
          </button>
        </form>
        <p className="muted center">
          Already have an account? <Link href="/">Log in</Link>
        </p>
      </section>
    </LandingFrame>
  );
}
