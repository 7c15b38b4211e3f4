import { useState } from "preact/hooks";
import { post, type OrgRef, type SessionInfo } from "../api";
import { linkClick, navigate } from "../router";
import { NewProject, isAdmin } from "../app";

// Organizations and their projects; create either.
export function Setup({ session, reload }: { session: SessionInfo; reload: () => Promise<SessionInfo | null> }) {
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  const [newProjectFor, setNewProjectFor] = useState<OrgRef | null>(null);
  const createOrg = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      const org = await post<OrgRef>("/organizations", { name });
      setName("");
      await reload();
      setNewProjectFor(org);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <div class="setup-page">
      <div class="setup-card">
        <h1>Organizations</h1>
        {session.organizations.length === 0 && <p class="muted">You are not a member of any organization yet. Create one to start.</p>}
        {session.organizations.map((o) => (
          <div class="org" key={o.id}>
            <h3>{o.name} <span class="badge">{o.role}</span></h3>
            <ul>
              {o.projects.map((p) => (
                <li key={p.id}><a href={`/project/${p.id}`} onClick={linkClick}>{p.name}</a></li>
              ))}
            </ul>
            {isAdmin(o.role) && <button onClick={() => setNewProjectFor(o)}>+ New project</button>}
          </div>
        ))}
        <form class="form inline" onSubmit={createOrg}>
          <input placeholder="New organization name" value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
          <button class="primary" type="submit">Create organization</button>
        </form>
        {error && <div class="error" role="alert">{error}</div>}
        <p class="muted small">
          Signed in as {session.user.email} ·{" "}
          <a href="/auth/sign-in" onClick={async (e) => {
            e.preventDefault();
            await post("/auth/sign-out").catch(() => null);
            await reload();
            navigate("/auth/sign-in");
          }}>Sign out</a>
        </p>
      </div>
      {newProjectFor && <NewProject org={newProjectFor} reload={reload} onClose={() => setNewProjectFor(null)} />}
    </div>
  );
}
