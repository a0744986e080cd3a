"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { Brand } from "@/components/Brand";
import { Field } from "@/components/Field";
import { ApiError, publicApi } from "@/lib/api";
import { PASSWORD_MIN_LENGTH } from "@/lib/config";
import { useLanguages } from "@/lib/languages";
import { getToken, setToken } from "@/lib/session";
import { FormError } from "@/components/FormError";

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
  const router = useRouter();
  const { languages, error: languagesError, retry } = useLanguages();
  const [form, setForm] = useState({ username: "", password: "", first_name: "", last_name: "", native_language: "" });
  const [error, setError] = useState<string | null>(null);
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (getToken()) router.replace("/chats");
  }, [router]);

  // The language chosen, else the browser's own once the list of languages has it.
  const nativeLanguage = form.native_language || (languages ? browserLanguage(languages.map((l) => l.code)) : "");

  const set = (name: keyof typeof form) => (value: string) => setForm((f) => ({ ...f, [name]: value }));
  const touch = (name: string) => () => setTouched((t) => ({ ...t, [name]: true }));

  const problems = {
    username: !USERNAME_PATTERN.test(form.username)
      ? "3 to 50 characters: letters, digits, '.', '-' or '_'."
      : null,
    password: form.password.length < PASSWORD_MIN_LENGTH ? `At least ${PASSWORD_MIN_LENGTH} characters.` : null,
    first_name: form.first_name.trim() ? null : "Enter your first name.",
    last_name: form.last_name.trim() ? null : "Enter your last name.",
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setTouched({ username: true, password: true, first_name: true, last_name: true });
    if (Object.values(problems).some(Boolean)) {
      setError("Please fix the highlighted fields.");
      return;
    }
    if (!nativeLanguage) {
      setError("Choose the language you write and read in.");
      return;
    }
    setBusy(true);
    try {
      const reply = await publicApi.signup({ ...form, native_language: nativeLanguage, username: form.username.trim() });
      setToken(reply.access_token);
      router.replace("/chats");
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : "Something went wrong. Please try again.");
      setBusy(false);
    }
  }

  const passwordLeft = PASSWORD_MIN_LENGTH - form.password.length;

  return (
    <div className="landing">
      <header className="landing-header">
        <Brand />
        <Link className="btn ghost" href="/">
          Log in
        </Link>
      </header>
      <main id="main" className="center-page top">
        <section className="card auth-card" aria-labelledby="signup-title">
          <h1 id="signup-title" className="h2">
            Create your account
          </h1>
          <p className="muted">Pick the language you write in. Everything others send you arrives in it.</p>
          <form onSubmit={submit} noValidate>
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
                  onChange={(e) => set("native_language")(e.target.value)}
                  disabled={!languages}
                  required
                >
                  {!languages && <option value="">Loading languages…</option>}
                  {languages?.map((language) => (
                    <option key={language.code} value={language.code}>
                      {language.native_name === language.name ? language.name : `${language.native_name} — ${language.name}`}
                    </option>
                  ))}
                </select>
              )}
            </div>
            <div className="field-row">
              <Field
                id="signup-first"
                label="First name"
                autoComplete="given-name"
                value={form.first_name}
                onChange={(e) => set("first_name")(e.target.value)}
                onBlur={touch("first_name")}
                error={touched.first_name ? problems.first_name : null}
                maxLength={100}
                required
              />
              <Field
                id="signup-last"
                label="Last name"
                autoComplete="family-name"
                value={form.last_name}
                onChange={(e) => set("last_name")(e.target.value)}
                onBlur={touch("last_name")}
                error={touched.last_name ? problems.last_name : null}
                maxLength={100}
                required
              />
            </div>
            <Field
              id="signup-username"
              label="Username"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              value={form.username}
              onChange={(e) => set("username")(e.target.value)}
              onBlur={touch("username")}
              hint="Others start chats with you by this name."
              error={touched.username ? problems.username : null}
              maxLength={50}
              required
            />
            <Field
              id="signup-password"
              label="Password"
              type="password"
              autoComplete="new-password"
              value={form.password}
              onChange={(e) => set("password")(e.target.value)}
              onBlur={touch("password")}
              hint={
                passwordLeft > 0
                  ? `At least ${PASSWORD_MIN_LENGTH} characters (${passwordLeft} more).`
                  : `At least ${PASSWORD_MIN_LENGTH} characters ✓`
              }
              error={touched.password ? problems.password : null}
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
      </main>
    </div>
  );
}
