// Scores: every score of the project with filters, and the score configs.

import { useState } from "preact/hooks";
import { get, qs, type PageMeta, type ScoreConfig, type ScoreFull } from "../api";
import { canWrite, type Ctx } from "../app";
import { ExportButton } from "../components/ExportButton";
import { fmtNumber, fmtTime, truncate } from "../format";
import { useLoad } from "../hooks";
import { linkClick, setQuery, useLocation } from "../router";
import { scoreText } from "./Datasets";

const FILTER_KEYS = ["name", "source", "dataType", "traceId", "operator", "value"] as const;

export function Scores({ ctx }: { ctx: Ctx }) {
  const loc = useLocation();
  const pid = ctx.project.id;
  const tab = loc.query.get("tab") === "configs" ? "configs" : "scores";
  return (
    <div class="page">
      <div class="page-head"><h2>Scores</h2></div>
      <div class="seg tabs">
        <button class={tab === "scores" ? "on" : ""} onClick={() => setQuery({ tab: null })} data-testid="tab-scores">Scores</button>
        <button class={tab === "configs" ? "on" : ""} onClick={() => setQuery({ tab: "configs" })} data-testid="tab-configs">Score configs</button>
      </div>
      {tab === "scores" ? <ScoreList pid={pid} writer={canWrite(ctx.project.role)} /> : <ScoreConfigs pid={pid} />}
    </div>
  );
}

function ScoreList({ pid, writer }: { pid: string; writer: boolean }) {
  const loc = useLocation();
  const page = Math.max(1, Number(loc.query.get("page") ?? 1) || 1);
  const current: Record<string, string> = {};
  for (const k of FILTER_KEYS) current[k] = loc.query.get(k) ?? "";
  const [draft, setDraft] = useState<Record<string, string>>(current);
  const key = `${pid}|${page}|` + FILTER_KEYS.map((k) => current[k]).join("|");
  const res = useLoad(
    () => get<{ data: ScoreFull[]; meta: PageMeta }>(`/projects/${pid}/scores` + qs({ page, limit: 50, ...(current.operator && current.value ? current : { ...current, operator: "", value: "" }) })),
    key,
  );
  const meta = res.data?.meta;
  const field = (k: string) => ({
    value: draft[k] ?? "",
    onInput: (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value }),
  });
  const apply = (e: Event) => {
    e.preventDefault();
    const changes: Record<string, string | null> = { page: null };
    for (const k of FILTER_KEYS) changes[k] = draft[k]?.trim() || null;
    setQuery(changes);
  };
  return (
    <>
      <form class="toolbar score-filters" onSubmit={apply} data-testid="score-filters">
        <input placeholder="Name" {...field("name")} data-testid="score-filter-name" />
        <select value={draft.source} onChange={(e) => setDraft({ ...draft, source: (e.currentTarget as HTMLSelectElement).value })} data-testid="score-filter-source">
          <option value="">Any source</option>
          <option value="API">API</option>
          <option value="EVAL">EVAL</option>
          <option value="ANNOTATION">ANNOTATION</option>
        </select>
        <select value={draft.dataType} onChange={(e) => setDraft({ ...draft, dataType: (e.currentTarget as HTMLSelectElement).value })} data-testid="score-filter-type">
          <option value="">Any type</option>
          <option value="NUMERIC">Numeric</option>
          <option value="CATEGORICAL">Categorical</option>
          <option value="BOOLEAN">Boolean</option>
          <option value="TEXT">Text</option>
        </select>
        <input placeholder="Trace ID" {...field("traceId")} />
        <select value={draft.operator} onChange={(e) => setDraft({ ...draft, operator: (e.currentTarget as HTMLSelectElement).value })} data-testid="score-filter-op">
          <option value="">Value…</option>
          {["=", "!=", ">", ">=", "<", "<="].map((o) => <option key={o} value={o}>{o}</option>)}
        </select>
        <input class="narrow" placeholder="number" {...field("value")} data-testid="score-filter-value" />
        <button class="primary" type="submit" data-testid="score-filter-apply">Apply</button>
        {FILTER_KEYS.some((k) => current[k]) && (
          <button type="button" onClick={() => { setDraft({}); setQuery(Object.fromEntries([...FILTER_KEYS.map((k) => [k, null]), ["page", null]])); }}>Clear</button>
        )}
        {writer && <ExportButton pid={pid} table="scores" params={current.operator && current.value ? current : { ...current, operator: "", value: "" }} />}
        {meta && <span class="muted">{meta.totalItems.toLocaleString()} {meta.totalItems === 1 ? "score" : "scores"}</span>}
      </form>
      {res.error && <div class="error" role="alert">{res.error}</div>}
      <div class={"table-wrap" + (res.loading ? " is-loading" : "")}>
        <table class="grid" data-testid="scores-table">
          <thead><tr><th>Time</th><th>Name</th><th class="num">Value</th><th>Type</th><th>Source</th><th>Trace</th><th>Observation</th><th>Comment</th></tr></thead>
          <tbody>
            {res.data?.data.map((s) => (
              <tr key={s.id} data-score={s.name}>
                <td>{fmtTime(s.timestamp)}</td>
                <td>{s.name}</td>
                <td class="num">{scoreText(s)}</td>
                <td>{s.dataType}</td>
                <td>{s.source}</td>
                <td>{s.traceId ? <a href={`/project/${pid}/traces/${encodeURIComponent(s.traceId)}`} onClick={linkClick}>{truncate(s.traceId, 16)}</a> : s.sessionId ? `session ${truncate(s.sessionId, 12)}` : s.datasetRunId ? "dataset run" : "–"}</td>
                <td>{s.observationId ? <code>{truncate(s.observationId, 12)}</code> : "–"}</td>
                <td class="desc">{truncate(s.comment, 80)}</td>
              </tr>
            ))}
            {res.data && res.data.data.length === 0 && <tr><td colSpan={8} class="empty">No scores match.</td></tr>}
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
    </>
  );
}

function ScoreConfigs({ pid }: { pid: string }) {
  const res = useLoad(() => get<{ data: ScoreConfig[]; meta: PageMeta }>(`/projects/${pid}/score-configs`), pid);
  return (
    <>
      {res.error && <div class="error" role="alert">{res.error}</div>}
      <div class="table-wrap">
        <table class="grid" data-testid="score-configs-table">
          <thead><tr><th>Name</th><th>Data type</th><th>Range / categories</th><th>Description</th><th>Status</th><th>Created</th></tr></thead>
          <tbody>
            {res.data?.data.map((c) => (
              <tr key={c.id} data-config={c.name}>
                <td>{c.name}</td>
                <td>{c.dataType}</td>
                <td>
                  {c.categories
                    ? c.categories.map((x) => <span class="tag" key={x.label}>{x.label} = {x.value}</span>)
                    : c.dataType === "NUMERIC"
                      ? `${c.minValue === null ? "−∞" : fmtNumber(c.minValue)} … ${c.maxValue === null ? "∞" : fmtNumber(c.maxValue)}`
                      : "–"}
                </td>
                <td class="desc">{truncate(c.description, 100)}</td>
                <td>{c.isArchived ? "archived" : "active"}</td>
                <td>{fmtTime(c.createdAt)}</td>
              </tr>
            ))}
            {res.data && res.data.data.length === 0 && <tr><td colSpan={6} class="empty">No score configs. Create them with POST /api/public/score-configs.</td></tr>}
          </tbody>
        </table>
      </div>
    </>
  );
}
