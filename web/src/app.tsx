// The app shell: loads the signed-in session, routes Langfuse's page paths
// to pages, and frames project pages with the navigation and switcher.

import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, get, post, setUnauthenticatedHandler, type OrgRef, type ProjectRef, type SessionInfo } from "./api";
import { linkClick, match, navigate, useLocation } from "./router";
import { Modal } from "./components/Modal";
import { SignIn, SignUp } from "./pages/Auth";
import { Setup } from "./pages/Setup";
import { Traces } from "./pages/Traces";
import { TraceDetailPage } from "./pages/TraceDetail";
import { Sessions, SessionView } from "./pages/Sessions";
import { Users } from "./pages/Users";
import { Dashboard } from "./pages/Dashboard";
import { ApiKeys } from "./pages/ApiKeys";
import { ModelsSettings } from "./pages/ModelsSettings";
import { LlmConnections } from "./pages/LlmConnections";
import { NewPromptPage, PromptDetailPage, Prompts } from "./pages/Prompts";
import { DatasetPage, DatasetRunPage, Datasets } from "./pages/Datasets";
import { Scores } from "./pages/Scores";
import { Account } from "./pages/Account";

export interface Ctx {
  session: SessionInfo;
  org: OrgRef;
  project: ProjectRef;
  reload: () => Promise<SessionInfo | null>;
}

export function canWrite(role: string): boolean {
  return role === "OWNER" || role === "ADMIN" || role === "MEMBER";
}

export function isAdmin(role: string): boolean {
  return role === "OWNER" || role === "ADMIN";
}

function findProject(s: SessionInfo, id: string): { org: OrgRef; project: ProjectRef } | null {
  for (const org of s.organizations) for (const project of org.projects) if (project.id === id) return { org, project };
  return null;
}

export function firstProject(s: SessionInfo): ProjectRef | null {
  for (const o of s.organizations) if (o.projects.length) return o.projects[0];
  return null;
}

// The project last shown, so that pages outside a project (the account)
// keep its navigation.
let lastProjectId = "";

export function App() {
  const loc = useLocation();
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);

  const reload = async () => {
    try {
      const s = await get<SessionInfo>("/auth/session");
      setSession(s);
      return s;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setSession(null);
      else setSession(null);
      return null;
    }
  };
  useEffect(() => {
    setUnauthenticatedHandler(() => setSession(null));
    void reload();
  }, []);

  if (session === undefined) return <div class="loading-page">Loading…</div>;

  const path = loc.path;
  if (path.startsWith("/auth/sign-up")) return <SignUp onDone={reload} />;
  if (!session || path.startsWith("/auth/sign-in")) {
    if (session && path.startsWith("/auth/sign-in")) {
      const p = firstProject(session);
      navigate(p ? `/project/${p.id}/traces` : "/setup", true);
      return null;
    }
    return <SignIn onDone={reload} />;
  }
  if (path === "/" || path === "" || path === "/setup" || match("/organization/:orgId", path) || path.startsWith("/organization/")) {
    const p = firstProject(session);
    if (path === "/" && p) {
      navigate(`/project/${p.id}`, true);
      return null;
    }
    return <Setup session={session} reload={reload} />;
  }
  if (path === "/account/settings" || path === "/account") {
    const last = findProject(session, lastProjectId) ?? (firstProject(session) && findProject(session, firstProject(session)!.id));
    const ctx: Ctx | undefined = last ? { session, org: last.org, project: last.project, reload } : undefined;
    return (
      <Shell session={session} reload={reload} ctx={ctx} sub="/account/settings">
        <Account session={session} reload={reload} />
      </Shell>
    );
  }
  const pm = /^\/project\/([^/]+)(\/.*)?$/.exec(path);
  if (pm) {
    const found = findProject(session, decodeURIComponent(pm[1]));
    if (!found) {
      return (
        <Shell session={session} reload={reload}>
          <div class="page"><h2>Project not found</h2><p>It does not exist or you are not a member of it.</p></div>
        </Shell>
      );
    }
    const ctx: Ctx = { session, org: found.org, project: found.project, reload };
    lastProjectId = found.project.id;
    const sub = pm[2] ?? "";
    let page: ComponentChildren;
    let m: Record<string, string> | null;
    if (sub === "" || sub === "/" || sub === "/dashboards" || sub.startsWith("/dashboards/")) page = <Dashboard ctx={ctx} />;
    else if (sub === "/traces") page = <Traces ctx={ctx} />;
    else if ((m = match("/traces/:traceId", sub))) page = <TraceDetailPage ctx={ctx} traceId={m.traceId} />;
    else if (sub === "/sessions") page = <Sessions ctx={ctx} />;
    else if ((m = match("/sessions/:sessionId", sub))) page = <SessionView ctx={ctx} sessionId={m.sessionId} />;
    else if (sub === "/users") page = <Users ctx={ctx} />;
    else if ((m = match("/users/:userId", sub))) {
      const f = JSON.stringify([{ column: "userId", operator: "=", value: m.userId }]);
      navigate(`/project/${ctx.project.id}/traces?range=all&filter=${encodeURIComponent(f)}`, true);
      return null;
    } else if (sub === "/prompts") page = <Prompts ctx={ctx} />;
    else if (sub === "/prompts/new") page = <NewPromptPage ctx={ctx} />;
    else if ((m = match("/prompts/:name", sub))) page = <PromptDetailPage ctx={ctx} name={m.name} />;
    else if (sub === "/datasets") page = <Datasets ctx={ctx} />;
    else if ((m = match("/datasets/:datasetId", sub))) page = <DatasetPage ctx={ctx} datasetId={m.datasetId} />;
    else if ((m = match("/datasets/:datasetId/runs/:runName", sub))) page = <DatasetRunPage ctx={ctx} datasetId={m.datasetId} runName={m.runName} />;
    else if (sub === "/scores") page = <Scores ctx={ctx} />;
    else if (sub === "/settings" || sub === "/settings/api-keys") page = <ApiKeys ctx={ctx} />;
    else if (sub === "/settings/models") page = <ModelsSettings ctx={ctx} />;
    else if (sub === "/settings/llm-connections") page = <LlmConnections ctx={ctx} />;
    else page = <div class="page"><h2>Page not found</h2></div>;
    return (
      <Shell session={session} reload={reload} ctx={ctx} sub={sub}>
        {page}
      </Shell>
    );
  }
  const tm = match("/trace/:traceId", path);
  if (tm) {
    const p = firstProject(session);
    if (p) navigate(`/project/${p.id}/traces/${encodeURIComponent(tm.traceId)}`, true);
    return null;
  }
  return (
    <Shell session={session} reload={reload}>
      <div class="page"><h2>Page not found</h2><a href="/" onClick={linkClick}>Home</a></div>
    </Shell>
  );
}

function NavLink({ href, active, children, testId }: { href: string; active: boolean; children: ComponentChildren; testId?: string }) {
  return (
    <a href={href} class={active ? "nav active" : "nav"} onClick={linkClick} data-testid={testId}>
      {children}
    </a>
  );
}

function Shell({ session, reload, ctx, sub, children }: {
  session: SessionInfo;
  reload: () => Promise<SessionInfo | null>;
  ctx?: Ctx;
  sub?: string;
  children: ComponentChildren;
}) {
  const [newProjectFor, setNewProjectFor] = useState<OrgRef | null>(null);
  const signOut = async () => {
    await post("/auth/sign-out").catch(() => null);
    await reload();
    navigate("/auth/sign-in");
  };
  const p = ctx?.project.id;
  const s = sub ?? "";
  return (
    <div class="shell">
      <aside class="sidebar">
        <div class="brand">
          <a href="/" onClick={linkClick}>Loupe</a>
        </div>
        <ProjectSwitcher session={session} current={ctx} onNewProject={setNewProjectFor} />
        {p && (
          <nav>
            <NavLink href={`/project/${p}`} active={s === "" || s === "/" || s.startsWith("/dashboards")} testId="nav-dashboard">Dashboard</NavLink>
            <NavLink href={`/project/${p}/traces`} active={s.startsWith("/traces")} testId="nav-traces">Traces</NavLink>
            <NavLink href={`/project/${p}/sessions`} active={s.startsWith("/sessions")} testId="nav-sessions">Sessions</NavLink>
            <NavLink href={`/project/${p}/users`} active={s.startsWith("/users")} testId="nav-users">Users</NavLink>
            <NavLink href={`/project/${p}/prompts`} active={s.startsWith("/prompts")} testId="nav-prompts">Prompts</NavLink>
            <NavLink href={`/project/${p}/datasets`} active={s.startsWith("/datasets")} testId="nav-datasets">Datasets</NavLink>
            <NavLink href={`/project/${p}/scores`} active={s.startsWith("/scores")} testId="nav-scores">Scores</NavLink>
            <NavLink href={`/project/${p}/settings/api-keys`} active={s.startsWith("/settings")} testId="nav-settings">Settings</NavLink>
          </nav>
        )}
        <div class="sidebar-foot">
          <div class="who" title={`${session.user.email}: account settings`}>
            <a href="/account/settings" onClick={linkClick} data-testid="nav-account">{session.user.name || session.user.email}</a>
          </div>
          {ctx && <div class="role">Role: {ctx.project.role}</div>}
          <button class="link" onClick={signOut} data-testid="sign-out">Sign out</button>
        </div>
      </aside>
      <main class="main">{children}</main>
      {newProjectFor && (
        <NewProject org={newProjectFor} reload={reload} onClose={() => setNewProjectFor(null)} />
      )}
    </div>
  );
}

function ProjectSwitcher({ session, current, onNewProject }: {
  session: SessionInfo;
  current?: Ctx;
  onNewProject: (o: OrgRef) => void;
}) {
  return (
    <div class="switcher">
      <label class="muted small">Project</label>
      <select
        data-testid="project-switcher"
        value={current?.project.id ?? ""}
        onChange={(e) => {
          const v = (e.currentTarget as HTMLSelectElement).value;
          if (v.startsWith("new:")) {
            const org = session.organizations.find((o) => o.id === v.slice(4));
            if (org) onNewProject(org);
            (e.currentTarget as HTMLSelectElement).value = current?.project.id ?? "";
          } else if (v === "setup") navigate("/setup");
          else if (v) navigate(`/project/${v}/traces`);
        }}
      >
        {!current && <option value="">Choose a project…</option>}
        {session.organizations.map((o) => (
          <optgroup key={o.id} label={o.name}>
            {o.projects.map((p) => (
              <option key={p.id} value={p.id}>{p.name}</option>
            ))}
            {isAdmin(o.role) && <option value={`new:${o.id}`}>+ New project in {o.name}</option>}
          </optgroup>
        ))}
        <option value="setup">+ New organization…</option>
      </select>
    </div>
  );
}

export function NewProject({ org, reload, onClose }: { org: OrgRef; reload: () => Promise<SessionInfo | null>; onClose: () => void }) {
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const p = await post<ProjectRef>(`/organizations/${encodeURIComponent(org.id)}/projects`, { name });
      await reload();
      onClose();
      navigate(`/project/${p.id}/settings/api-keys`);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={`New project in ${org.name}`} onClose={onClose}>
      <form onSubmit={submit} class="form">
        <label>
          Project name
          <input data-testid="new-project-name" value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} autoFocus />
        </label>
        {error && <div class="error" role="alert">{error}</div>}
        <div class="actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button class="primary" type="submit" disabled={busy} data-testid="new-project-submit">Create project</button>
        </div>
      </form>
    </Modal>
  );
}
