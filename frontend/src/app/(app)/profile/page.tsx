"use client";

import Link from "next/link";
import { useState, type FormEvent } from "react";
import { useSession } from "@/components/session";
import { Avatar } from "@/components/Avatar";
import { ConnectionStatus } from "@/components/ConnectionStatus";
import { FormError } from "@/components/FormError";
import { useFormValues } from "@/components/forms";
import { LandingFrame } from "@/components/LandingFrame";
import { NotificationSettings } from "@/components/NotificationSettings";
import { PageTitle } from "@/components/PageTitle";
import { PresenceSetting } from "@/components/PresenceSetting";
import { LanguageOptions, NameFields } from "@/components/ProfileFields";
import { YourData } from "@/components/YourData";
import { ApiError } from "@/lib/api";
import { languageName, readLanguagesToggled, sameLanguages, useLanguages } from "@/lib/languages";
import { fullName } from "@/lib/names";
import { LOGGED_OUT_EVERYWHERE } from "@/lib/session";
import { webPushForget } from "@/lib/webPush";

function unsentWarning(pending: number): string {
  return `${pending === 1 ? "1 message hasn't" : `${pending} messages haven't`} been sent yet`;
}

export default function ProfilePage() {
  const { me, api, client, setMe, logout } = useSession();
  const { languages, error: languagesError } = useLanguages();
  const { values: form, setValues: setForm, onChangeOf } = useFormValues({
    first_name: me.first_name,
    last_name: me.last_name,
    native_language: me.native_language,
  });
  const [readLanguages, setReadLanguages] = useState<string[]>(me.read_languages ?? []);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [loggingOutEverywhere, setLoggingOutEverywhere] = useState(false);
  const [logoutAllError, setLogoutAllError] = useState<string | null>(null);

  const readLanguagesChanged = !sameLanguages(readLanguages, me.read_languages ?? []);
  const changed =
    form.first_name.trim() !== me.first_name ||
    form.last_name.trim() !== me.last_name ||
    form.native_language !== me.native_language ||
    readLanguagesChanged;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setSaved(null);
    if (!form.first_name.trim() || !form.last_name.trim()) {
      setError("First and last name can't be empty.");
      return;
    }
    const changes: Parameters<typeof api.updateMe>[0] = {};
    if (form.first_name.trim() !== me.first_name) changes.first_name = form.first_name.trim();
    if (form.last_name.trim() !== me.last_name) changes.last_name = form.last_name.trim();
    if (form.native_language !== me.native_language) changes.native_language = form.native_language;
    if (readLanguagesChanged) changes.read_languages = readLanguages.filter((code) => code !== form.native_language);
    setBusy(true);
    try {
      const updated = await api.updateMe(changes);
      setMe(updated);
      setForm({ first_name: updated.first_name, last_name: updated.last_name, native_language: updated.native_language });
      setReadLanguages(updated.read_languages);
      setSaved(
        changes.native_language
          ? `Saved. New messages now arrive in ${languageName(updated.native_language, languages)}.`
          : "Saved.",
      );
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : String(err));
    } finally {
      setBusy(false);
    }
  }

  async function logoutEverywhere() {
    setLogoutAllError(null);
    const pending = client.outbox.items().length;
    const question =
      "Log out on every device? Every browser and phone signed in to your account, this one included, will have to log in again." +
      (pending ? ` ${unsentWarning(pending)}; unsent messages are deleted from this browser.` : "");
    if (!window.confirm(question)) return;
    setLoggingOutEverywhere(true);
    try {
      await client.logoutEverywhere();
      logout(LOGGED_OUT_EVERYWHERE);
    } catch (err) {
      // A 401 has already ended the session (api.ts); anything else is said here.
      setLogoutAllError(
        `Couldn't log out on every device: ${err instanceof ApiError ? err.detail : err instanceof Error ? err.message : String(err)}`,
      );
      setLoggingOutEverywhere(false);
    }
  }

  const name = fullName(me);

  return (
    <LandingFrame brandHref="/chats" headerEnd={<ConnectionStatus compact />} mainClassName="center-page top">
      <PageTitle title="Your profile" />
      <section className="card auth-card" aria-labelledby="profile-title">
        <Link href="/chats" className="back-link">
          ← Back to chats
        </Link>
        <div className="profile-head">
          <Avatar name={name} size={56} />
          <div>
            <h1 id="profile-title" className="h2">
              {name}
            </h1>
            <p className="muted">@{me.username}</p>
          </div>
        </div>
        <form onSubmit={submit} noValidate>
          <NameFields
            idPrefix="profile"
            first={{ value: form.first_name, onChange: onChangeOf("first_name") }}
            last={{ value: form.last_name, onChange: onChangeOf("last_name") }}
          />
          <div className="field">
            <label htmlFor="profile-language">Your language</label>
            <select
              id="profile-language"
              value={form.native_language}
              onChange={onChangeOf("native_language")}
              aria-describedby="profile-language-hint"
              disabled={!languages}
            >
              {!languages && <option value={me.native_language}>{languageName(me.native_language, null)}</option>}
              <LanguageOptions languages={languages} />
            </select>
            <p className="hint" id="profile-language-hint">
              You write in this language, and everything others send you is shown in it.
            </p>
            {languagesError && <p className="field-error">Couldn&apos;t load languages: {languagesError}</p>}
          </div>
          {languages && (
            <fieldset className="field">
              <legend>Languages I also read</legend>
              <p className="hint" id="profile-read-languages-hint">
                Messages written in these reach you as written, untranslated.
              </p>
              {languages
                .filter((language) => language.code !== form.native_language)
                .map((language) => (
                  <label key={language.code} className="checkbox">
                    <input
                      type="checkbox"
                      checked={readLanguages.includes(language.code)}
                      onChange={() =>
                        setReadLanguages(
                          readLanguagesToggled(
                            readLanguages,
                            language.code,
                            form.native_language,
                            languages.map((offered) => offered.code),
                          ),
                        )
                      }
                    />{" "}
                    {languageName(language.code, languages)}
                  </label>
                ))}
            </fieldset>
          )}
          <FormError message={error} />
          {saved && (
            <p className="form-success" role="status">
              {saved}
            </p>
          )}
          <button className="btn primary block" type="submit" disabled={busy || !changed}>
            {busy ? "Saving…" : "Save changes"}
          </button>
        </form>
        <hr />
        <button
          type="button"
          className="btn block"
          onClick={() => {
            const pending = client.outbox.items().length;
            if (
              pending &&
              !window.confirm(
                `${unsentWarning(pending)}. Log out anyway? Unsent messages are deleted from this browser.`,
              )
            )
              return;
            client.forgetLocalData();
            void webPushForget();
            logout();
          }}
        >
          Log out
        </button>
        <button type="button" className="btn block" onClick={logoutEverywhere} disabled={loggingOutEverywhere}>
          {loggingOutEverywhere ? "Logging out everywhere…" : "Log out everywhere"}
        </button>
        <FormError message={logoutAllError} testId="logout-all-error" />
        <NotificationSettings />
        <PresenceSetting />
        <hr />
        <YourData />
      </section>
    </LandingFrame>
  );
}
