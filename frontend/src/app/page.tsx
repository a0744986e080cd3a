"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { Brand } from "@/components/Brand";
import { Field } from "@/components/Field";
import { ApiError, publicApi } from "@/lib/api";
import { getToken, setToken, takeLogoutReason } from "@/lib/session";
import { FormError } from "@/components/FormError";

export default function LandingPage() {
  const router = useRouter();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [reason, setReason] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const why = takeLogoutReason();
    // sessionStorage is there only in the browser, after hydration, and the reason is taken
    // from it (read and removed) once: this is the one place it can be read.
    // eslint-disable-next-line react-hooks/set-state-in-effect
    if (why) setReason(why);
    else if (getToken()) router.replace("/chats");
  }, [router]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (!username.trim() || !password) {
      setError("Enter your username and password.");
      return;
    }
    setBusy(true);
    try {
      const reply = await publicApi.login(username.trim(), password);
      setToken(reply.access_token);
      router.replace("/chats");
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : "Something went wrong. Please try again.");
      setBusy(false);
    }
  }

  return (
    <div className="landing">
      <header className="landing-header">
        <Brand />
        <Link className="btn ghost" href="/signup">
          Create account
        </Link>
      </header>
      <main id="main" className="landing-main">
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
          <form onSubmit={submit} noValidate>
            <Field
              id="login-username"
              label="Username"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              required
            />
            <Field
              id="login-password"
              label="Password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
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
      </main>
    </div>
  );
}
