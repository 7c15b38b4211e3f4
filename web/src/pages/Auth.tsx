import { useState } from "preact/hooks";
import { post, type SessionInfo } from "../api";
import { linkClick, navigate } from "../router";
import { firstProject } from "../app";

function afterSignIn(s: SessionInfo | null) {
  const target = new URLSearchParams(location.search).get("next");
  if (target && target.startsWith("/") && !target.startsWith("//")) {
    navigate(target, true);
    return;
  }
  const p = s ? firstProject(s) : null;
  navigate(p ? `/project/${p.id}` : "/setup", true);
}

export function SignIn({ onDone }: { onDone: () => Promise<SessionInfo | null> }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await post("/auth/sign-in", { email, password });
      if (!location.pathname.startsWith("/auth/")) {
        // Signed in on the page that was asked for: stay on it.
        await onDone();
        navigate(location.pathname + location.search, true);
      } else {
        afterSignIn(await onDone());
      }
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="auth-page">
      <form class="auth-card form" onSubmit={submit} data-testid="sign-in-form">
        <h1>Loupe</h1>
        <p class="muted">Sign in to your account</p>
        <label>
          Email
          <input type="email" name="email" autoComplete="username" value={email} required
            onInput={(e) => setEmail((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          Password
          <input type="password" name="password" autoComplete="current-password" value={password} required
            onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)} />
        </label>
        {error && <div class="error" role="alert">{error}</div>}
        <button class="primary" type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
        <p class="muted small">
          No account? <a href="/auth/sign-up" onClick={linkClick}>Sign up</a>
        </p>
      </form>
    </div>
  );
}

export function SignUp({ onDone }: { onDone: () => Promise<SessionInfo | null> }) {
  const [name, setName] = useState("");
  // An invitation's link names the invited email.
  const [email, setEmail] = useState(() => new URLSearchParams(location.search).get("email") ?? "");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await post("/auth/sign-up", { name, email, password });
      afterSignIn(await onDone());
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="auth-page">
      <form class="auth-card form" onSubmit={submit} data-testid="sign-up-form">
        <h1>Loupe</h1>
        <p class="muted">Create an account</p>
        <label>
          Name
          <input name="name" value={name} required onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          Email
          <input type="email" name="email" value={email} required onInput={(e) => setEmail((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          Password (at least 8 characters)
          <input type="password" name="password" autoComplete="new-password" value={password} required minLength={8}
            onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)} />
        </label>
        {error && <div class="error" role="alert">{error}</div>}
        <button class="primary" type="submit" disabled={busy}>Sign up</button>
        <p class="muted small">
          Have an account? <a href="/auth/sign-in" onClick={linkClick}>Sign in</a>
        </p>
      </form>
    </div>
  );
}
