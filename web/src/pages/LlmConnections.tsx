// Settings → LLM connections: the project's LLM provider connections. The
// secret key is sent once and stored encrypted; the list shows only its last
// characters. Owners and admins create, update (by provider name) and delete.

import { useState } from "preact/hooks";
import { del, get, post, type LlmConnection } from "../api";
import { isAdmin, type Ctx } from "../app";
import { fmtTime } from "../format";
import { useLoad } from "../hooks";
import { SettingsNav } from "./SettingsNav";

const ADAPTERS = ["openai", "anthropic", "azure", "bedrock", "google-vertex-ai", "google-ai-studio"];

const EMPTY = { provider: "", adapter: "openai", secretKey: "", baseURL: "", customModels: "", withDefaultModels: true, region: "" };

export function LlmConnections({ ctx }: { ctx: Ctx }) {
  const pid = ctx.project.id;
  const admin = isAdmin(ctx.project.role);
  const res = useLoad(() => get<{ data: LlmConnection[] }>(`/projects/${pid}/llm-connections`), pid);
  const [form, setForm] = useState(EMPTY);
  const [error, setError] = useState("");
  const set = (k: keyof typeof EMPTY) => (e: Event) => {
    const el = e.currentTarget as HTMLInputElement;
    setForm({ ...form, [k]: el.type === "checkbox" ? el.checked : el.value });
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setError("");
    const body: Record<string, unknown> = {
      provider: form.provider.trim(),
      adapter: form.adapter,
      secretKey: form.secretKey,
      withDefaultModels: form.withDefaultModels,
      customModels: form.customModels.split(",").map((s) => s.trim()).filter(Boolean),
    };
    if (form.baseURL.trim()) body.baseURL = form.baseURL.trim();
    if (form.adapter === "bedrock") body.config = { region: form.region.trim() };
    try {
      await post<LlmConnection>(`/projects/${pid}/llm-connections`, body);
      setForm(EMPTY);
      res.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const edit = (c: LlmConnection) =>
    setForm({ ...EMPTY, provider: c.provider, adapter: c.adapter, baseURL: c.baseURL ?? "", customModels: c.customModels.join(", "), withDefaultModels: c.withDefaultModels });
  const remove = async (c: LlmConnection) => {
    if (!confirm(`Delete the LLM connection ${c.provider}?`)) return;
    try {
      await del(`/projects/${pid}/llm-connections/${encodeURIComponent(c.id)}`);
      res.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const list = res.data?.data ?? [];
  const updating = list.some((c) => c.provider === form.provider.trim());
  return (
    <div class="page">
      <div class="page-head"><h2>Project settings</h2></div>
      <SettingsNav pid={pid} current="llm-connections" />
      <p class="muted">Connections to LLM providers. Secret keys are stored encrypted and never shown again.</p>
      {res.error && <div class="error" role="alert">{res.error}</div>}
      <div class="table-wrap">
        <table class="grid" data-testid="llm-connections-table">
          <thead>
            <tr><th>Provider</th><th>Adapter</th><th>Base URL</th><th>Secret key</th><th>Custom models</th><th>Updated</th>{admin && <th></th>}</tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <tr key={c.id} data-testid="llm-connection-row">
                <td>{c.provider}</td>
                <td>{c.adapter}</td>
                <td>{c.baseURL ?? "default"}</td>
                <td><code>{c.displaySecretKey}</code></td>
                <td>{c.customModels.join(", ")}</td>
                <td>{fmtTime(c.updatedAt)}</td>
                {admin && (
                  <td>
                    <button onClick={() => edit(c)} data-testid="edit-llm-connection">Update</button>{" "}
                    <button class="danger" onClick={() => remove(c)} data-testid="delete-llm-connection">Delete</button>
                  </td>
                )}
              </tr>
            ))}
            {res.data && list.length === 0 && <tr><td colSpan={admin ? 7 : 6} class="empty">No LLM connections.</td></tr>}
          </tbody>
        </table>
      </div>
      {admin ? (
        <form class="form model-form" onSubmit={save} data-testid="llm-connection-form">
          <h3>{updating ? `Update ${form.provider.trim()}` : "New LLM connection"}</h3>
          <div class="form inline">
            <input placeholder="Provider name" value={form.provider} onInput={set("provider")} data-testid="llm-provider" />
            <select value={form.adapter} onChange={set("adapter")} data-testid="llm-adapter">
              {ADAPTERS.map((a) => <option key={a} value={a}>{a}</option>)}
            </select>
            <input type="password" autocomplete="off" placeholder="Secret key" value={form.secretKey} onInput={set("secretKey")} data-testid="llm-secret" />
          </div>
          <div class="form inline">
            <input placeholder="Base URL (optional)" value={form.baseURL} onInput={set("baseURL")} data-testid="llm-base-url" />
            <input placeholder="Custom models, comma-separated (optional)" value={form.customModels} onInput={set("customModels")} data-testid="llm-custom-models" />
            {form.adapter === "bedrock" && <input placeholder="AWS region" value={form.region} onInput={set("region")} data-testid="llm-region" />}
          </div>
          <label class="check">
            <input type="checkbox" checked={form.withDefaultModels} onChange={set("withDefaultModels")} /> Offer the adapter's default models
          </label>
          <div class="actions">
            <button class="primary" type="submit" data-testid="save-llm-connection">{updating ? "Update connection" : "Create connection"}</button>
          </div>
          {error && <div class="error" role="alert">{error}</div>}
        </form>
      ) : (
        <p class="muted">Only owners and admins of this project can manage its LLM connections.</p>
      )}
    </div>
  );
}
