"use client";

/** Form state shared by the log-in, sign-up and profile pages. */
import { useRouter } from "next/navigation";
import { useCallback, useState, type ChangeEvent, type FormEvent } from "react";
import { ApiError } from "@/lib/api";
import { setToken } from "@/lib/session";
import type { TokenReply } from "@/lib/types";

/** A form's text values by field name, and the change handler of each input or select. */
export function useFormValues<Values extends Record<string, string>>(initial: Values) {
  const [values, setValues] = useState(initial);
  const onChangeOf = useCallback(
    (name: keyof Values) => (event: ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
      setValues((current) => ({ ...current, [name]: event.target.value })),
    [],
  );
  return { values, setValues, onChangeOf };
}

export interface TokenRequest {
  /** What is wrong with the form, in words; null when it can be sent. */
  check: () => string | null;
  /** Log in or sign up. */
  obtainToken: () => Promise<TokenReply>;
}

/**
 * Logging in or signing up: the form's error and whether it is being sent. `submit` checks the
 * form, obtains a token, keeps it and opens the chats; a refusal is shown in the form (in the
 * backend's words) and the form can be sent again.
 */
export function useTokenForm() {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent, { check, obtainToken }: TokenRequest) {
    event.preventDefault();
    const problem = check();
    setError(problem);
    if (problem) return;
    setBusy(true);
    try {
      const reply = await obtainToken();
      setToken(reply.access_token);
      router.replace("/chats");
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : "Something went wrong. Please try again.");
      setBusy(false);
    }
  }

  return { router, error, busy, submit };
}
