import { useState } from "preact/hooks";
import { post, type SessionInfo } from "../api";

// The signed-in user's own account: name and password.
export function Account({ session, reload }: { session: SessionInfo; reload: () => Promise<SessionInfo | null> }) {
  return (
    <div class="page">
      <div class="page-head"><h2>Account settings</h2></div>
      <div class="settings-cards">
        <Profile session={session} reload={reload} />
        <Password />
      </div>
    </div>
  );
}

function Profile({ session, reload }: { session: SessionInfo; reload: () => Promise<SessionInfo | null> }) {
  const [name, setName] = useState(session.user.name);
  const [error, setError] = useState("");
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError("");
    setSaved(false);
    setBusy(true);
    try {
      await post("/account", { name });
      await reload();
      setSaved(true);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="form card settings-card" onSubmit={submit} data-testid="profile-form">
      <h3>Profile</h3>
      <label>
        Email
        <input value={session.user.email} disabled />
      </label>
      <label>
        Name
        <input name="name" value={name} required maxLength={200} data-testid="account-name"
          onInput={(e) => { setName((e.currentTarget as HTMLInputElement).value); setSaved(false); }} />
      </label>
      {error && <div class="error" role="alert">{error}</div>}
      {saved && <div class="ok" data-testid="profile-saved">Saved.</div>}
      <div class="actions left">
        <button class="primary" type="submit" disabled={busy} data-testid="account-save">Save</button>
      </div>
    </form>
  );
}

function Password() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState("");
  const [done, setDone] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError("");
    setDone(null);
    if (next !== confirm) {
      setError("The new passwords do not match.");
      return;
    }
    setBusy(true);
    try {
      const r = await post<{ otherSessionsEnded: number }>("/account/password", { currentPassword: current, newPassword: next });
      setCurrent("");
      setNext("");
      setConfirm("");
      setDone(r.otherSessionsEnded);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const field = (label: string, name: string, value: string, set: (v: string) => void, auto: string) => (
    <label>
      {label}
      <input type="password" name={name} value={value} required autoComplete={auto} data-testid={`password-${name}`}
        onInput={(e) => set((e.currentTarget as HTMLInputElement).value)} />
    </label>
  );
  return (
    <form class="form card settings-card" onSubmit={submit} data-testid="password-form">
      <h3>Change password</h3>
      {field("Current password", "current", current, setCurrent, "current-password")}
      {field("New password (at least 8 characters)", "new", next, setNext, "new-password")}
      {field("Repeat the new password", "confirm", confirm, setConfirm, "new-password")}
      {error && <div class="error" role="alert">{error}</div>}
      {done !== null && (
        <div class="ok" data-testid="password-changed">
          Password changed.{done > 0 ? ` ${done} other session${done === 1 ? " was" : "s were"} signed out.` : ""}
        </div>
      )}
      <div class="actions left">
        <button class="primary" type="submit" disabled={busy} data-testid="password-submit">Change password</button>
      </div>
    </form>
  );
}
