"use client";

import Link from "next/link";
import { useEffect, useState } from "react";
import { Field } from "@/components/Field";
import { FormError } from "@/components/FormError";
import { useFormValues, useTokenForm } from "@/components/forms";
import { LandingFrame } from "@/components/LandingFrame";
import { PageTitle } from "@/components/PageTitle";
import { publicApi } from "@/lib/api";
import { getToken, takeLogoutReason } from "@/lib/session";

export default function LandingPage() {
  const { router, error, busy, submit } = useTokenForm();
  const { values, onChangeOf } = useFormValues({ username: "", password: "" });
  const [reason, setReason] = useState<string | null>(null);

  useEffect(() => {
    const why = takeLogoutReason();
    // sessionStorage is there only in the browser, after hydration, and the reason is taken
    // from it (read and removed) once: this is the one place it can be read.
    // eslint-disable-next-line react-hooks/set-state-in-effect
    if (why) setReason(why);
    else if (getToken()) router.replace("/chats");
  }, [router]);

  const logIn = {
    check: () => (values.username.trim() && values.password ? null : "Enter your username and password."),
    obtainToken: () => publicApi.login(values.username.trim(), values.password),
  };

  return (
    <LandingFrame
      headerEnd={
        <Link className="btn ghost" href="/signup">
          Create account
        </Link>
      }
      mainClassName="landing-main"
    >
      <PageTitle title="Log in" />
      <section className="hero" aria-labelledby="hero-title">
        <h1 id="hero-title">Write in your language. Everyone reads it in theirs.</h1>
        <p className="lead">
          Commonality translates every message as it&apos;s sent, live, for each person in the chat. No buttons, no
          copy-paste: just talk.
        </p>
        <div className="demo" aria-label="Example conversation">
          <div className="demo-bubble theirs" lang="es">
            <span className="demo-lang">Bruno wrote in Spanish</span>
            ¿Quedamos mañana para el café?
          </div>
          <div className="demo-bubble theirs translated">
            <span className="demo-lang">You read</span>
            Shall we meet for coffee tomorrow?
          </div>
          <div className="demo-bubble mine">
            <span className="demo-lang">You write</span>
            Yes! 10am at the usual place?
          </div>
        </div>
      </section>
      <section className="card auth-card" aria-labelledby="login-title">
        <h2 id="login-title" className="h2">
          Log in
        </h2>
        {reason && (
          <p className="banner warn" role="alert" data-testid="logout-reason">
            {reason}
          </p>
        )}
        <form onSubmit={(event) => submit(event, logIn)} noValidate>
          <Field
            id="login-username"
            label="Username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            value={values.username}
            onChange={onChangeOf("username")}
            required
          />
          <Field
            id="login-password"
            label="Password"
            type="password"
            autoComplete="current-password"
            value={values.password}
            onChange={onChangeOf("password")}
            required
          />
          <FormError message={error} />
          <button className="btn primary block" type="submit" disabled={busy}>
            {busy ? "Logging in…" : "Log in"}
          </button>
        </form>
        <p className="muted center">
          New here? <Link href="/signup">Create an account</Link>
        </p>
      </section>
    </LandingFrame>
  );
}
