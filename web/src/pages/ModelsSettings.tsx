// Settings → Models: the models the project prices generations with (the
// defaults and the project's own; a project model with a default's name
// overrides it), and for members and above a form to add or delete the
// project's own.

import { useState } from "preact/hooks";
import { del, get, post, type ModelDef } from "../api";
import { canWrite, type Ctx } from "../app";
import { useLoad } from "../hooks";
import { SettingsNav } from "./SettingsNav";

const UNITS = ["TOKENS", "CHARACTERS", "MILLISECONDS", "SECONDS", "REQUESTS", "IMAGES"];

function price(p: number | null | undefined): string {
  if (p === null || p === undefined) return "";
  // Prices are per unit (often 1e-6 and smaller): shown per million units too.
  return `${p} (${+(p * 1e6).toPrecision(6)} / 1M)`;
}

function toNumber(s: string): number | undefined {
  const t = s.trim();
  return t === "" ? undefined : Number(t);
}

export function ModelsSettings({ ctx }: { ctx: Ctx }) {
  const pid = ctx.project.id;
  const writer = canWrite(ctx.project.role);
  const res = useLoad(() => get<{ data: ModelDef[] }>(`/projects/${pid}/models`), pid);
  const [filter, setFilter] = useState("");
  const [form, setForm] = useState({ modelName: "", matchPattern: "", unit: "TOKENS", input: "", output: "", total: "", tokenizerId: "" });
  const [error, setError] = useState("");
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });

  const create = async (e: Event) => {
    e.preventDefault();
    setError("");
    const body: Record<string, unknown> = { modelName: form.modelName.trim(), matchPattern: form.matchPattern, unit: form.unit };
    for (const [key, v] of [["inputPrice", form.input], ["outputPrice", form.output], ["totalPrice", form.total]] as const) {
      const n = toNumber(v);
      if (n !== undefined) {
        if (Number.isNaN(n)) return setError(`${key}: not a number`);
        body[key] = n;
      }
    }
    if (form.tokenizerId) body.tokenizerId = form.tokenizerId;
    try {
      await post<ModelDef>(`/projects/${pid}/models`, body);
      setForm({ ...form, modelName: "", matchPattern: "", input: "", output: "", total: "" });
      res.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const remove = async (m: ModelDef) => {
    if (!confirm(`Delete the model ${m.modelName}?`)) return;
    try {
      await del(`/projects/${pid}/models/${encodeURIComponent(m.id)}`);
      res.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const q = filter.trim().toLowerCase();
  const rows = (res.data?.data ?? []).filter((m) => !q || m.modelName.toLowerCase().includes(q));
  const own = rows.filter((m) => !m.isLangfuseManaged);
  const defaults = rows.filter((m) => m.isLangfuseManaged);
  const table = (list: ModelDef[], testId: string, deletable: boolean) => (
    <div class="table-wrap">
      <table class="grid" data-testid={testId}>
        <thead>
          <tr><th>Model</th><th>Match pattern</th><th>Unit</th><th>Input price</th><th>Output price</th><th>Total price</th><th>Tokenizer</th>{deletable && <th></th>}</tr>
        </thead>
        <tbody>
          {list.map((m) => (
            <tr key={m.id} data-testid="model-row">
              <td>{m.modelName}</td>
              <td class="pattern"><code>{m.matchPattern}</code></td>
              <td>{m.unit ?? ""}</td>
              <td class="num">{price(m.inputPrice)}</td>
              <td class="num">{price(m.outputPrice)}</td>
              <td class="num">{price(m.totalPrice)}</td>
              <td>{m.tokenizerId ?? ""}</td>
              {deletable && <td><button class="danger" onClick={() => remove(m)} data-testid="delete-model">Delete</button></td>}
            </tr>
          ))}
          {res.data && list.length === 0 && <tr><td colSpan={deletable ? 8 : 7} class="empty">No models.</td></tr>}
        </tbody>
      </table>
    </div>
  );

  return (
    <div class="page">
      <div class="page-head"><h2>Project settings</h2></div>
      <SettingsNav pid={pid} current="models" />
      <p class="muted">
        Generations are priced with the first model whose match pattern matches their model name; the project's own models take
        precedence over the defaults, so a model with a default's name overrides it.
      </p>
      {res.error && <div class="error" role="alert">{res.error}</div>}
      <div class="form inline">
        <input placeholder="Filter by model name" value={filter} onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)} data-testid="model-filter" />
      </div>
      <h3>Project models</h3>
      {table(own, "project-models", writer)}
      {writer ? (
        <form class="form model-form" onSubmit={create} data-testid="model-form">
          <h3>New project model</h3>
          <div class="form inline">
            <input placeholder="Model name" value={form.modelName} onInput={set("modelName")} data-testid="model-name" />
            <input placeholder="Match pattern, e.g. (?i)^(my-model)$" value={form.matchPattern} onInput={set("matchPattern")} data-testid="model-pattern" />
            <select value={form.unit} onChange={set("unit")} data-testid="model-unit">
              {UNITS.map((u) => <option key={u} value={u}>{u}</option>)}
            </select>
          </div>
          <div class="form inline">
            <input placeholder="Input price per unit" value={form.input} onInput={set("input")} data-testid="model-input-price" />
            <input placeholder="Output price per unit" value={form.output} onInput={set("output")} data-testid="model-output-price" />
            <input placeholder="Total price per unit" value={form.total} onInput={set("total")} data-testid="model-total-price" />
            <select value={form.tokenizerId} onChange={set("tokenizerId")} data-testid="model-tokenizer">
              <option value="">No tokenizer</option>
              <option value="openai">openai</option>
              <option value="claude">claude</option>
            </select>
            <button class="primary" type="submit" data-testid="create-model">Create model</button>
          </div>
          {error && <div class="error" role="alert">{error}</div>}
        </form>
      ) : (
        <p class="muted">Viewers cannot change the project's models.</p>
      )}
      <h3>Default models</h3>
      {table(defaults, "default-models", false)}
    </div>
  );
}
