// Datasets: the list, one dataset's items and runs (average scores side by
// side), and a run's items with their traces and scores.

import { get, qs, type DatasetDetail, type DatasetRow, type DatasetRunDetail, type PageMeta, type ScoreFull } from "../api";
import type { Ctx } from "../app";
import { fmtCost, fmtDuration, fmtNumber, fmtTime, truncate } from "../format";
import { useLoad } from "../hooks";
import { linkClick, navigate, setQuery, useLocation } from "../router";

const enc = encodeURIComponent;

function preview(v: unknown): string {
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

export function Datasets({ ctx }: { ctx: Ctx }) {
  const loc = useLocation();
  const pid = ctx.project.id;
  const page = Math.max(1, Number(loc.query.get("page") ?? 1) || 1);
  const res = useLoad(() => get<{ data: DatasetRow[]; meta: PageMeta }>(`/projects/${pid}/datasets` + qs({ page, limit: 50 })), `${pid}|${page}`);
  const meta = res.data?.meta;
  return (
    <div class="page">
      <div class="page-head">
        <h2>Datasets</h2>
        {meta && <span class="muted">{meta.totalItems.toLocaleString()} datasets</span>}
      </div>
      {res.error && <div class="error" role="alert">{res.error}</div>}
      <div class={"table-wrap" + (res.loading ? " is-loading" : "")}>
        <table class="grid" data-testid="datasets-table">
          <thead><tr><th>Name</th><th>Description</th><th>Items</th><th>Runs</th><th>Last run</th><th>Created</th></tr></thead>
          <tbody>
            {res.data?.data.map((d) => (
              <tr key={d.id} class="clickable" data-dataset={d.name} onClick={() => navigate(`/project/${pid}/datasets/${enc(d.id)}`)}>
                <td><a href={`/project/${pid}/datasets/${enc(d.id)}`} onClick={linkClick}>{d.name}</a></td>
                <td class="desc">{truncate(d.description, 120)}</td>
                <td>{d.itemCount}</td>
                <td>{d.runCount}</td>
                <td>{fmtTime(d.lastRunAt)}</td>
                <td>{fmtTime(d.createdAt)}</td>
              </tr>
            ))}
            {res.data && res.data.data.length === 0 && (
              <tr><td colSpan={6} class="empty">No datasets yet. Create them with the SDK's create_dataset and create_dataset_item.</td></tr>
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

export function DatasetPage({ ctx, datasetId }: { ctx: Ctx; datasetId: string }) {
  const loc = useLocation();
  const pid = ctx.project.id;
  const tab = loc.query.get("tab") === "items" ? "items" : "runs";
  const page = Math.max(1, Number(loc.query.get("page") ?? 1) || 1);
  const res = useLoad(
    () => get<DatasetDetail>(`/projects/${pid}/datasets/${enc(datasetId)}` + qs({ page, limit: 50 })),
    `${pid}|${datasetId}|${page}`,
  );
  if (res.error) return <div class="page"><div class="error" role="alert">{res.error}</div></div>;
  const d = res.data;
  if (!d) return <div class="page muted">Loading dataset…</div>;
  const base = `/project/${pid}/datasets/${enc(d.dataset.id)}`;
  return (
    <div class="page">
      <div class="crumbs"><a href={`/project/${pid}/datasets`} onClick={linkClick}>Datasets</a> / <span>{d.dataset.name}</span></div>
      <div class="page-head">
        <h2 data-testid="dataset-title">{d.dataset.name}</h2>
        <span class="chip">{d.itemsMeta.totalItems} items</span>
        <span class="chip">{d.runCount} runs</span>
      </div>
      {d.dataset.description && <p class="muted">{d.dataset.description}</p>}
      <div class="seg tabs">
        <button class={tab === "runs" ? "on" : ""} onClick={() => setQuery({ tab: null, page: null })} data-testid="tab-runs">Runs</button>
        <button class={tab === "items" ? "on" : ""} onClick={() => setQuery({ tab: "items" })} data-testid="tab-items">Items</button>
      </div>
      {tab === "runs" ? (
        <div class="table-wrap">
          <table class="grid" data-testid="runs-table">
            <thead>
              <tr>
                <th>Run</th><th>Created</th><th>Items</th>
                {d.scoreNames.map((n) => <th key={n} class="num">{n}</th>)}
                <th>Description</th>
              </tr>
            </thead>
            <tbody>
              {d.runs.map((r) => (
                <tr key={r.id} class="clickable" data-run={r.name} onClick={() => navigate(`${base}/runs/${enc(r.name)}`)}>
                  <td><a href={`${base}/runs/${enc(r.name)}`} onClick={linkClick}>{r.name}</a></td>
                  <td>{fmtTime(r.createdAt)}</td>
                  <td>{r.itemCount}</td>
                  {d.scoreNames.map((n) => {
                    const s = r.scores[n];
                    return (
                      <td key={n} class="num" title={s ? `${s.count} scores` : "no scores"}>
                        {s ? (s.average !== null ? fmtNumber(s.average) : `${s.count} ${s.count === 1 ? "score" : "scores"}`) : "–"}
                      </td>
                    );
                  })}
                  <td class="desc">{truncate(r.description, 80)}</td>
                </tr>
              ))}
              {d.runs.length === 0 && <tr><td colSpan={4 + d.scoreNames.length} class="empty">No runs yet. Link traces to items with item.link() or run_experiment().</td></tr>}
            </tbody>
          </table>
          {d.scoreNames.length > 0 && <div class="muted small pad">Score columns average the numeric and boolean scores of the run's traces; other types show their count (open a run for the values).</div>}
        </div>
      ) : (
        <>
          <div class="table-wrap">
            <table class="grid" data-testid="items-table">
              <thead><tr><th>Item</th><th>Status</th><th>Input</th><th>Expected output</th><th>Source trace</th><th>Created</th></tr></thead>
              <tbody>
                {d.items.map((i) => (
                  <tr key={i.id}>
                    <td><code>{truncate(i.id, 24)}</code></td>
                    <td>{i.status}</td>
                    <td class="preview">{truncate(preview(i.input), 160)}</td>
                    <td class="preview">{truncate(preview(i.expectedOutput), 160)}</td>
                    <td>{i.sourceTraceId ? <a href={`/project/${pid}/traces/${enc(i.sourceTraceId)}`} onClick={linkClick}>{truncate(i.sourceTraceId, 16)}</a> : "–"}</td>
                    <td>{fmtTime(i.createdAt)}</td>
                  </tr>
                ))}
                {d.items.length === 0 && <tr><td colSpan={6} class="empty">No items.</td></tr>}
              </tbody>
            </table>
          </div>
          {d.itemsMeta.totalPages > 1 && (
            <div class="pager">
              <button disabled={page <= 1} onClick={() => setQuery({ page: String(page - 1) })}>‹ Prev</button>
              <span>Page {page} of {d.itemsMeta.totalPages}</span>
              <button disabled={page >= d.itemsMeta.totalPages} onClick={() => setQuery({ page: String(page + 1) })}>Next ›</button>
            </div>
          )}
        </>
      )}
    </div>
  );
}

export function scoreText(s: ScoreFull): string {
  if (s.dataType === "CATEGORICAL" || s.dataType === "TEXT") return s.stringValue ?? String(s.value ?? "");
  if (s.dataType === "BOOLEAN") return s.value === 1 ? "true" : "false";
  return fmtNumber(s.value);
}

export function DatasetRunPage({ ctx, datasetId, runName }: { ctx: Ctx; datasetId: string; runName: string }) {
  const pid = ctx.project.id;
  const res = useLoad(
    () => get<DatasetRunDetail>(`/projects/${pid}/datasets/${enc(datasetId)}/runs/${enc(runName)}`),
    `${pid}|${datasetId}|${runName}`,
  );
  if (res.error) return <div class="page"><div class="error" role="alert">{res.error}</div></div>;
  const d = res.data;
  if (!d) return <div class="page muted">Loading run…</div>;
  const ds = `/project/${pid}/datasets/${enc(d.dataset.id)}`;
  return (
    <div class="page">
      <div class="crumbs">
        <a href={`/project/${pid}/datasets`} onClick={linkClick}>Datasets</a> / <a href={ds} onClick={linkClick}>{d.dataset.name}</a> / <span>{d.run.name}</span>
      </div>
      <div class="page-head">
        <h2 data-testid="run-title">Run {d.run.name}</h2>
        <span class="chip">{d.items.length} items</span>
        <span class="muted">{fmtTime(d.run.createdAt)}</span>
      </div>
      {d.run.description && <p class="muted">{d.run.description}</p>}
      {d.truncated && <div class="warn">Showing the first {d.items.length} run items.</div>}
      <div class="table-wrap">
        <table class="grid" data-testid="run-items-table">
          <thead>
            <tr>
              <th>Item</th><th>Input</th><th>Expected</th><th>Output</th><th>Trace</th><th>Latency</th><th>Cost</th>
              {d.scoreNames.map((n) => <th key={n} class="num">{n}</th>)}
            </tr>
          </thead>
          <tbody>
            {d.items.map((it) => (
              <tr key={it.id}>
                <td><code>{truncate(it.datasetItemId, 16)}</code></td>
                <td class="preview">{truncate(it.input, 100)}</td>
                <td class="preview">{truncate(it.expectedOutput, 100)}</td>
                <td class="preview">{truncate(it.output, 100)}</td>
                <td><a href={`/project/${pid}/traces/${enc(it.traceId)}`} onClick={linkClick}>{truncate(it.traceId, 14)}</a></td>
                <td>{fmtDuration(it.latency)}</td>
                <td>{fmtCost(it.totalCost)}</td>
                {d.scoreNames.map((n) => {
                  const ss = it.scores.filter((s) => s.name === n);
                  return <td key={n} class="num" title={ss.map((s) => s.comment ?? "").join("\n")}>{ss.length ? ss.map(scoreText).join(", ") : "–"}</td>;
                })}
              </tr>
            ))}
            {d.items.length === 0 && <tr><td colSpan={7 + d.scoreNames.length} class="empty">This run has no items.</td></tr>}
          </tbody>
        </table>
      </div>
    </div>
  );
}
