// Prompt management: the list of prompt names, a prompt's versions with
// labels and a diff between two versions, and the editor of a new version
// (text or chat with placeholders, config JSON).

import { useState } from "preact/hooks";
import { get, post, qs, type ChatMessage, type PageMeta, type PromptDetail, type PromptRow, type PromptVersion } from "../api";
import { canWrite, type Ctx } from "../app";
import { JsonView } from "../components/JsonView";
import { diffLines, promptText, templateVariables } from "../diff";
import { fmtTime } from "../format";
import { useLoad } from "../hooks";
import { linkClick, navigate, setQuery, useLocation } from "../router";

const enc = encodeURIComponent;

function promptPath(pid: string, name: string): string {
  return `/project/${pid}/prompts/${enc(name)}`;
}

function Labels({ labels }: { labels: string[] }) {
  return (
    <>
      {labels.map((l) => (
        <span key={l} class={"label" + (l === "production" ? " label-prod" : l === "latest" ? " label-latest" : "")}>{l}</span>
      ))}
    </>
  );
}

export function Prompts({ ctx }: { ctx: Ctx }) {
  const loc = useLocation();
  const pid = ctx.project.id;
  const page = Math.max(1, Number(loc.query.get("page") ?? 1) || 1);
  const search = loc.query.get("search") ?? "";
  const [text, setText] = useState(search);
  const res = useLoad(
    () => get<{ data: PromptRow[]; meta: PageMeta }>(`/projects/${pid}/prompts` + qs({ page, limit: 50, name: search })),
    `${pid}|${page}|${search}`,
  );
  const meta = res.data?.meta;
  return (
    <div class="page">
      <div class="page-head">
        <h2>Prompts</h2>
        {meta && <span class="muted">{meta.totalItems.toLocaleString()} prompts</span>}
        <span class="grow" />
        {canWrite(ctx.project.role) && (
          <a class="button primary" href={`/project/${pid}/prompts/new`} onClick={linkClick} data-testid="new-prompt">+ New prompt</a>
        )}
      </div>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ search: text.trim() || null, page: null });
        }}
      >
        <input class="search" placeholder="Search names…" value={text} onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)} data-testid="prompt-search" />
      </form>
      {res.error && <div class="error" role="alert">{res.error}</div>}
      <div class={"table-wrap" + (res.loading ? " is-loading" : "")}>
        <table class="grid" data-testid="prompts-table">
          <thead><tr><th>Name</th><th>Type</th><th>Versions</th><th>Labels</th><th>Tags</th><th>Last updated</th></tr></thead>
          <tbody>
            {res.data?.data.map((p) => (
              <tr key={p.name} class="clickable" data-prompt={p.name} onClick={() => navigate(promptPath(pid, p.name))}>
                <td><a href={promptPath(pid, p.name)} onClick={linkClick}>{p.name}</a></td>
                <td>{p.type}</td>
                <td>{p.versionCount}</td>
                <td><Labels labels={p.labels} /></td>
                <td>{p.tags.map((t) => <span class="tag" key={t}>{t}</span>)}</td>
                <td>{fmtTime(p.lastUpdatedAt)}</td>
              </tr>
            ))}
            {res.data && res.data.data.length === 0 && (
              <tr><td colSpan={6} class="empty">{search ? "No prompt matches." : "No prompts yet. Create one here or with the SDK's create_prompt."}</td></tr>
            )}
          </tbody>
        </table>
      </div>
      {meta && meta.totalPages > 1 && (
        <div class="pager">
          <button disabled={page <= 1} onClick={() => setQuery({ page: String(page - 1) })}>‹ Prev</button>
          <span>Page {page} of {meta.totalPages}</span>
          <button disabled={page >= meta.totalPages} onClick={() => setQuery({ page: String(page + 1) })}>Next ›</button>
        </div>
      )}
    </div>
  );
}

function PromptBody({ v }: { v: PromptVersion }) {
  if (typeof v.prompt === "string") return <pre class="text-block prompt-text" data-testid="prompt-content">{v.prompt}</pre>;
  return (
    <div class="chat" data-testid="prompt-content">
      {v.prompt.map((m, i) =>
        "role" in m ? (
          <div class={`msg msg-${m.role}`} key={i}>
            <div class="msg-role">{m.role}</div>
            <div class="text-block">{m.content}</div>
          </div>
        ) : (
          <div class="msg msg-placeholder" key={i}>
            <div class="msg-role">placeholder</div>
            <div class="text-block">{`{{${m.name}}}`} — a list of messages inserted when the prompt is compiled</div>
          </div>
        ),
      )}
    </div>
  );
}

function DiffView({ base, target }: { base: PromptVersion; target: PromptVersion }) {
  const lines = diffLines(promptText(base.prompt), promptText(target.prompt));
  const cfg = diffLines(JSON.stringify(base.config ?? {}, null, 2), JSON.stringify(target.config ?? {}, null, 2));
  const changed = (ls: typeof lines) => ls.some((l) => l.kind !== "same");
  const render = (ls: typeof lines) => (
    <pre class="diff">
      {ls.map((l, i) => (
        <div key={i} class={"diff-" + l.kind}>
          <span class="diff-sign">{l.kind === "add" ? "+" : l.kind === "del" ? "−" : " "}</span>
          {l.text || " "}
        </div>
      ))}
    </pre>
  );
  return (
    <div data-testid="prompt-diff">
      <h4>Prompt {changed(lines) ? "" : <span class="muted small">(unchanged)</span>}</h4>
      {render(lines)}
      <h4>Config {changed(cfg) ? "" : <span class="muted small">(unchanged)</span>}</h4>
      {render(cfg)}
    </div>
  );
}

export function PromptDetailPage({ ctx, name }: { ctx: Ctx; name: string }) {
  const loc = useLocation();
  const pid = ctx.project.id;
  const writer = canWrite(ctx.project.role);
  const res = useLoad(() => get<PromptDetail>(`/projects/${pid}/prompts/${enc(name)}`), `${pid}|${name}`);
  const [label, setLabel] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  if (res.error) {
    return (
      <div class="page">
        <div class="crumbs"><a href={`/project/${pid}/prompts`} onClick={linkClick}>Prompts</a> / <span>{name}</span></div>
        <div class="error" role="alert">{res.error}</div>
      </div>
    );
  }
  const d = res.data;
  if (!d) return <div class="page muted">Loading prompt…</div>;
  const wanted = Number(loc.query.get("version") ?? 0);
  const sel = d.versions.find((v) => v.version === wanted) ?? d.versions[0];
  const view = loc.query.get("view") === "diff" ? "diff" : "prompt";
  const older = d.versions.filter((v) => v.version < sel.version);
  const baseNo = Number(loc.query.get("base") ?? 0);
  const base = d.versions.find((v) => v.version === baseNo && v.version !== sel.version) ?? older[0] ?? d.versions.find((v) => v.version !== sel.version);
  const vars = templateVariables(promptText(sel.prompt));

  const addLabels = async (labels: string[]) => {
    setBusy(true);
    setError("");
    try {
      await post(`/projects/${pid}/prompts/${enc(d.name)}/versions/${sel.version}/labels`, { labels });
      setLabel("");
      res.reload();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="page">
      <div class="crumbs"><a href={`/project/${pid}/prompts`} onClick={linkClick}>Prompts</a> / <span>{d.name}</span></div>
      <div class="page-head">
        <h2 data-testid="prompt-title">{d.name}</h2>
        <span class="chip">{d.type}</span>
        <span class="muted">{d.versionCount} versions</span>
        {d.tags.map((t) => <span class="tag" key={t}>{t}</span>)}
        <span class="grow" />
        {writer && (
          <a class="button primary" href={`/project/${pid}/prompts/new?name=${enc(d.name)}&from=${sel.version}`} onClick={linkClick} data-testid="new-version">
            + New version
          </a>
        )}
      </div>
      <div class="prompt-layout">
        <div class="versions" data-testid="prompt-versions">
          {d.versions.map((v) => (
            <button
              key={v.version}
              class={"version" + (v.version === sel.version ? " on" : "")}
              data-version={v.version}
              onClick={() => setQuery({ version: String(v.version), base: null })}
            >
              <div class="version-head">
                <b>v{v.version}</b>
                <Labels labels={v.labels} />
              </div>
              {v.commitMessage && <div class="small">{v.commitMessage}</div>}
              <div class="muted small">{fmtTime(v.createdAt)} · {v.createdBy}</div>
            </button>
          ))}
        </div>
        <div class="version-detail">
          <div class="pane-bar">
            <div class="seg">
              <button class={view === "prompt" ? "on" : ""} onClick={() => setQuery({ view: null })}>Prompt</button>
              <button class={view === "diff" ? "on" : ""} disabled={d.versions.length < 2} onClick={() => setQuery({ view: "diff" })} data-testid="diff-tab">
                Diff
              </button>
            </div>
            <b>Version {sel.version}</b>
            <Labels labels={sel.labels} />
          </div>
          {writer && (
            <div class="label-bar">
              {!sel.labels.includes("production") && (
                <button class="primary" disabled={busy} onClick={() => addLabels(["production"])} data-testid="promote-production">
                  Promote to production
                </button>
              )}
              <form
                class="form inline"
                onSubmit={(e) => {
                  e.preventDefault();
                  if (label.trim()) void addLabels([label.trim()]);
                }}
              >
                <input placeholder="label, e.g. staging" value={label} onInput={(e) => setLabel((e.currentTarget as HTMLInputElement).value)} data-testid="label-input" />
                <button type="submit" disabled={busy || !label.trim()}>Add label</button>
              </form>
              <span class="muted small">A label moves here from the version that had it; <code>latest</code> always marks the newest version.</span>
            </div>
          )}
          {error && <div class="error" role="alert">{error}</div>}
          {view === "diff" && base ? (
            <>
              <div class="toolbar">
                <label class="small">
                  Compare v{sel.version} with{" "}
                  <select value={String(base.version)} onChange={(e) => setQuery({ base: (e.currentTarget as HTMLSelectElement).value })} data-testid="diff-base">
                    {d.versions
                      .filter((v) => v.version !== sel.version)
                      .map((v) => (
                        <option key={v.version} value={String(v.version)}>v{v.version}</option>
                      ))}
                  </select>
                </label>
                <span class="muted small">− only in v{base.version} · + only in v{sel.version}</span>
              </div>
              <DiffView base={base} target={sel} />
            </>
          ) : (
            <>
              <PromptBody v={sel} />
              {vars.length > 0 && (
                <div class="small vars">
                  Variables: {vars.map((x) => <code key={x}>{`{{${x}}}`}</code>)}
                </div>
              )}
              <h4>Config</h4>
              <JsonView value={sel.config ?? {}} />
              <h4>Use it</h4>
              <pre class="raw">{`langfuse.get_prompt("${d.name}"${sel.labels.includes("production") ? "" : `, version=${sel.version}`})`}</pre>
            </>
          )}
        </div>
      </div>
    </div>
  );
}

type EditMessage = { kind: "message"; role: string; content: string } | { kind: "placeholder"; name: string };

function toEdit(prompt: string | ChatMessage[] | undefined): EditMessage[] {
  if (!Array.isArray(prompt)) return [{ kind: "message", role: "system", content: "" }, { kind: "message", role: "user", content: "" }];
  return prompt.map((m) => ("role" in m ? { kind: "message", role: m.role, content: m.content } : { kind: "placeholder", name: m.name }));
}

export function NewPromptPage({ ctx }: { ctx: Ctx }) {
  const loc = useLocation();
  const pid = ctx.project.id;
  const existingName = loc.query.get("name") ?? "";
  const from = loc.query.get("from");
  const prev = useLoad(
    () => (existingName ? get<PromptDetail>(`/projects/${pid}/prompts/${enc(existingName)}`) : Promise.resolve(null)),
    `${pid}|${existingName}`,
  );
  if (existingName && prev.loading) return <div class="page muted">Loading prompt…</div>;
  const base = prev.data ? prev.data.versions.find((v) => String(v.version) === from) ?? prev.data.versions[0] : undefined;
  return <PromptEditor ctx={ctx} key={existingName + "|" + (base?.version ?? "")} existing={prev.data} base={base} />;
}

function PromptEditor({ ctx, existing, base }: { ctx: Ctx; existing: PromptDetail | null; base?: PromptVersion }) {
  const pid = ctx.project.id;
  const [name, setName] = useState(existing?.name ?? "");
  const [type, setType] = useState<"text" | "chat">(existing?.type ?? "text");
  const [text, setText] = useState(typeof base?.prompt === "string" ? base.prompt : "");
  const [messages, setMessages] = useState<EditMessage[]>(toEdit(base?.prompt));
  const [config, setConfig] = useState(JSON.stringify(base?.config ?? {}, null, 2));
  const [production, setProduction] = useState(false);
  const [labels, setLabels] = useState("");
  const [tags, setTags] = useState((existing?.tags ?? []).join(", "));
  const [commit, setCommit] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  let configError = "";
  try {
    const c: unknown = JSON.parse(config || "{}");
    if (c === null || typeof c !== "object" || Array.isArray(c)) configError = "The config must be a JSON object.";
  } catch (e) {
    configError = "Invalid JSON: " + (e as Error).message;
  }
  const setMsg = (i: number, m: EditMessage) => setMessages(messages.map((x, j) => (j === i ? m : x)));
  const move = (i: number, d: number) => {
    const j = i + d;
    if (j < 0 || j >= messages.length) return;
    const next = [...messages];
    [next[i], next[j]] = [next[j], next[i]];
    setMessages(next);
  };
  const split = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
  const vars = templateVariables(type === "text" ? text : messages.map((m) => (m.kind === "message" ? m.content : "")).join("\n"));

  const submit = async (e: Event) => {
    e.preventDefault();
    if (configError) {
      setError(configError);
      return;
    }
    setBusy(true);
    setError("");
    const prompt =
      type === "text"
        ? text
        : messages.map((m) => (m.kind === "message" ? { role: m.role, content: m.content } : { type: "placeholder", name: m.name }));
    try {
      const created = await post<PromptVersion>(`/projects/${pid}/prompts`, {
        name: name.trim(),
        type,
        prompt,
        config: JSON.parse(config || "{}"),
        labels: [...(production ? ["production"] : []), ...split(labels)],
        tags: split(tags),
        commitMessage: commit.trim() || null,
      });
      navigate(`${promptPath(pid, created.name)}?version=${created.version}`);
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };
  if (!canWrite(ctx.project.role)) {
    return <div class="page"><div class="error" role="alert">Your role ({ctx.project.role}) cannot create prompts in this project.</div></div>;
  }
  return (
    <div class="page">
      <div class="crumbs">
        <a href={`/project/${pid}/prompts`} onClick={linkClick}>Prompts</a> /{" "}
        {existing ? <a href={promptPath(pid, existing.name)} onClick={linkClick}>{existing.name}</a> : <span>New</span>}
        {existing && " / New version"}
      </div>
      <div class="page-head">
        <h2>{existing ? `New version of ${existing.name}` : "New prompt"}</h2>
        {base && <span class="muted">starting from v{base.version}</span>}
      </div>
      <form class="form prompt-form" onSubmit={submit} data-testid="prompt-form">
        <label>
          Name
          <input value={name} readOnly={!!existing} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} placeholder="e.g. movie-critic or support/greeting" data-testid="prompt-name" />
        </label>
        <div class="field">
          <span>Type</span>
          <div class="seg">
            <button type="button" class={type === "text" ? "on" : ""} disabled={!!existing && type !== "text"} onClick={() => setType("text")} data-testid="type-text">Text</button>
            <button type="button" class={type === "chat" ? "on" : ""} disabled={!!existing && type !== "chat"} onClick={() => setType("chat")} data-testid="type-chat">Chat</button>
          </div>
        </div>
        {type === "text" ? (
          <label>
            <span>Prompt <span class="muted small">use {"{{variable}}"} for values filled in at compile time</span></span>
            <textarea rows={10} value={text} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} data-testid="prompt-text" />
          </label>
        ) : (
          <div class="field">
            <span>Messages <span class="muted small">{"{{variable}}"} inside content; placeholders insert a list of messages</span></span>
            {messages.map((m, i) => (
              <div class="msg-edit" key={i} data-testid={`message-${i}`}>
                {m.kind === "message" ? (
                  <>
                    <select value={m.role} onChange={(e) => setMsg(i, { ...m, role: (e.currentTarget as HTMLSelectElement).value })} data-testid={`message-role-${i}`}>
                      {["system", "developer", "user", "assistant"].map((r) => <option key={r} value={r}>{r}</option>)}
                    </select>
                    <textarea rows={3} value={m.content} onInput={(e) => setMsg(i, { ...m, content: (e.currentTarget as HTMLTextAreaElement).value })} data-testid={`message-content-${i}`} />
                  </>
                ) : (
                  <>
                    <span class="chip">placeholder</span>
                    <input value={m.name} placeholder="name, e.g. history" onInput={(e) => setMsg(i, { ...m, name: (e.currentTarget as HTMLInputElement).value })} data-testid={`placeholder-name-${i}`} />
                  </>
                )}
                <div class="msg-tools">
                  <button type="button" title="Move up" onClick={() => move(i, -1)}>↑</button>
                  <button type="button" title="Move down" onClick={() => move(i, 1)}>↓</button>
                  <button type="button" title="Remove" onClick={() => setMessages(messages.filter((_, j) => j !== i))}>✕</button>
                </div>
              </div>
            ))}
            <div class="actions left">
              <button type="button" onClick={() => setMessages([...messages, { kind: "message", role: "user", content: "" }])} data-testid="add-message">+ Message</button>
              <button type="button" onClick={() => setMessages([...messages, { kind: "placeholder", name: "" }])} data-testid="add-placeholder">+ Placeholder</button>
            </div>
          </div>
        )}
        {vars.length > 0 && <div class="small vars">Variables: {vars.map((x) => <code key={x}>{`{{${x}}}`}</code>)}</div>}
        <label>
          <span>Config <span class="muted small">JSON object, e.g. model and temperature</span></span>
          <textarea class="code" rows={6} value={config} onInput={(e) => setConfig((e.currentTarget as HTMLTextAreaElement).value)} data-testid="prompt-config" />
          {configError && <span class="error small">{configError}</span>}
        </label>
        <label class="check">
          <input type="checkbox" checked={production} onChange={(e) => setProduction((e.currentTarget as HTMLInputElement).checked)} data-testid="prompt-production" />
          Set the <code>production</code> label (served by default to the SDKs)
        </label>
        <label>
          <span>Other labels <span class="muted small">comma-separated</span></span>
          <input value={labels} onInput={(e) => setLabels((e.currentTarget as HTMLInputElement).value)} data-testid="prompt-labels" />
        </label>
        <label>
          <span>Tags <span class="muted small">comma-separated, shared by all versions</span></span>
          <input value={tags} onInput={(e) => setTags((e.currentTarget as HTMLInputElement).value)} data-testid="prompt-tags" />
        </label>
        <label>
          Commit message
          <input value={commit} onInput={(e) => setCommit((e.currentTarget as HTMLInputElement).value)} data-testid="prompt-commit" />
        </label>
        {error && <div class="error" role="alert">{error}</div>}
        <div class="actions left">
          <button class="primary" type="submit" disabled={busy} data-testid="prompt-submit">{existing ? "Save new version" : "Create prompt"}</button>
          <a class="button" href={existing ? promptPath(pid, existing.name) : `/project/${pid}/prompts`} onClick={linkClick}>Cancel</a>
        </div>
      </form>
    </div>
  );
}
