import type { ComponentChildren } from "preact";
import { useMemo } from "preact/hooks";
import { get, qs, type MetricsRow } from "../api";
import type { Ctx } from "../app";
import { BarChart, TimeSeriesChart, type Series } from "../components/Charts";
import { TIME_RANGES } from "../filters";
import { fmtCost, fmtDuration, fmtNumber } from "../format";
import { useLoad } from "../hooks";
import { setQuery, useLocation } from "../router";

interface Query {
  view: "traces" | "observations";
  dimensions?: string[];
  metrics: [string, string][]; // [measure, aggregation]
  filters?: Record<string, unknown>[];
  time?: string; // granularity
  orderBy?: [string, "asc" | "desc"][];
}

function metrics(pid: string, q: Query, from: number, to: number): Promise<MetricsRow[]> {
  const body = {
    view: q.view,
    dimensions: (q.dimensions ?? []).map((field) => ({ field })),
    metrics: q.metrics.map(([measure, aggregation]) => ({ measure, aggregation })),
    filters: q.filters ?? [],
    timeDimension: q.time ? { granularity: q.time } : null,
    fromTimestamp: new Date(from).toISOString(),
    toTimestamp: new Date(to).toISOString(),
    orderBy: q.orderBy ? q.orderBy.map(([field, direction]) => ({ field, direction })) : null,
  };
  return get<{ data: MetricsRow[] }>(`/projects/${pid}/metrics` + qs({ query: JSON.stringify(body) })).then((r) => r.data);
}

const num = (v: unknown) => (typeof v === "number" ? v : Number(v ?? 0) || 0);

// Bucket width per time range, and the bucket start the server uses (UTC;
// weeks start on Monday, and 1970-01-01 was a Thursday).
const GRANULARITY: Record<string, [string, number]> = {
  "30m": ["minute", 60e3], "1h": ["minute", 60e3], "6h": ["hour", 3600e3], "24h": ["hour", 3600e3],
  "7d": ["hour", 3600e3], "30d": ["day", 86400e3], "90d": ["day", 86400e3], all: ["week", 7 * 86400e3],
};
function bucketStart(t: number, step: number): number {
  const offset = step === 7 * 86400e3 ? 4 * 86400e3 : 0;
  return Math.floor((t - offset) / step) * step + offset;
}

// One series per group, with empty buckets filled with zero so the chart
// spans the whole range.
function timeSeries(rows: MetricsRow[], key: string, by: string | undefined, from: number, to: number, step: number): Series[] {
  const groups = new Map<string, Map<number, number>>();
  for (const r of rows) {
    const name = by ? String(r[by] ?? "(none)") : key;
    if (!groups.has(name)) groups.set(name, new Map());
    groups.get(name)!.set(Date.parse(String(r.time_dimension)), num(r[key]));
  }
  if (!groups.size) groups.set(key, new Map());
  const out: Series[] = [];
  for (const [name, values] of groups) {
    const points: { t: number; v: number }[] = [];
    for (let b = bucketStart(from, step); b <= to; b += step) points.push({ t: b, v: values.get(b) ?? 0 });
    out.push({ name, points });
  }
  return out;
}

function Card({ title, children, testId }: { title: string; children: ComponentChildren; testId?: string }) {
  return (
    <div class="card" data-testid={testId}>
      <h4>{title}</h4>
      {children}
    </div>
  );
}

// Each card loads on its own, so the cheap ones show while the expensive
// ones (grouping every trace by user, say) are still running.
function useMetrics<T>(pid: string, key: string, load: () => Promise<T>) {
  return useLoad(load, `${pid}|${key}`);
}

function Loading({ res }: { res: { error: string | null; loading: boolean } }) {
  if (res.error) return <div class="error" role="alert">{res.error}</div>;
  return <div class="muted small">Loading…</div>;
}

export function Dashboard({ ctx }: { ctx: Ctx }) {
  const loc = useLocation();
  const pid = ctx.project.id;
  const range = loc.query.get("range") ?? "7d";
  const r = TIME_RANGES.find((x) => x.id === range) ?? TIME_RANGES[4];
  // "now" is fixed per range choice so every card asks about the same window.
  const window = useMemo(() => {
    const to = Date.now();
    const from = r.ms === null ? to - 365 * 86400e3 : to - r.ms;
    const [g, step] = GRANULARITY[r.id] ?? ["day", 86400e3];
    return { from, to, g, step };
  }, [pid, range]);
  const { from, to, g, step } = window;
  const gen = [{ type: "string", column: "type", operator: "=", value: "GENERATION" }];
  const k = `${range}|${from}`;
  const traces = useMetrics(pid, "traces|" + k, () =>
    metrics(pid, { view: "traces", metrics: [["count", "count"], ["totalCost", "sum"]], time: g }, from, to));
  const obs = useMetrics(pid, "obs|" + k, () =>
    metrics(pid, { view: "observations", dimensions: ["type"], metrics: [["count", "count"]], time: g }, from, to));
  const byModel = useMetrics(pid, "models|" + k, () =>
    metrics(pid, { view: "observations", dimensions: ["providedModelName"], metrics: [["totalCost", "sum"], ["totalTokens", "sum"], ["count", "count"]], filters: gen, orderBy: [["sum_totalCost", "desc"]] }, from, to));
  const latModel = useMetrics(pid, "latmodel|" + k, () =>
    metrics(pid, { view: "observations", dimensions: ["providedModelName"], metrics: [["latency", "p50"], ["latency", "p90"], ["latency", "p95"], ["latency", "p99"], ["count", "count"]], filters: gen }, from, to));
  const latName = useMetrics(pid, "latname|" + k, () =>
    metrics(pid, { view: "traces", dimensions: ["name"], metrics: [["latency", "p50"], ["latency", "p90"], ["latency", "p95"], ["latency", "p99"], ["count", "count"]], orderBy: [["count_count", "desc"]] }, from, to));
  const users = useMetrics(pid, "users|" + k, () =>
    metrics(pid, { view: "traces", dimensions: ["userId"], metrics: [["totalCost", "sum"], ["count", "count"]], filters: [{ type: "null", column: "userId", operator: "is not null", value: "" }], orderBy: [["sum_totalCost", "desc"]] }, from, to));
  const t = traces.data;
  const sum = (rows: MetricsRow[] | null, key: string) => (rows ?? []).reduce((acc, x) => acc + num(x[key]), 0);
  return (
    <div class="page">
      <div class="page-head">
        <h2>Dashboard</h2>
        <select value={range} onChange={(e) => setQuery({ range: (e.currentTarget as HTMLSelectElement).value })} data-testid="dash-range">
          {TIME_RANGES.map((x) => <option key={x.id} value={x.id}>{x.label}</option>)}
        </select>
      </div>
      <div class="dash" data-testid="dashboard">
        <div class="stats">
          <div class="stat"><b>{t ? fmtNumber(sum(t, "count_count")) : "…"}</b><span>traces</span></div>
          <div class="stat"><b>{t ? fmtCost(sum(t, "sum_totalCost")) : "…"}</b><span>total cost</span></div>
          <div class="stat"><b>{obs.data ? fmtNumber(sum(obs.data, "count_count")) : "…"}</b><span>observations</span></div>
          <div class="stat"><b>{byModel.data ? fmtNumber(sum(byModel.data, "sum_totalTokens")) : "…"}</b><span>tokens</span></div>
        </div>
        <div class="cards">
          <Card title="Traces over time" testId="chart-traces">
            {t ? <TimeSeriesChart series={timeSeries(t, "count_count", undefined, from, to, step)} /> : <Loading res={traces} />}
          </Card>
          <Card title="Observations over time, by type" testId="chart-observations">
            {obs.data ? <TimeSeriesChart series={timeSeries(obs.data, "count_count", "type", from, to, step)} /> : <Loading res={obs} />}
          </Card>
          <Card title="Cost by model" testId="chart-cost">
            {byModel.data ? <BarChart rows={byModel.data.map((x) => ({ label: String(x.providedModelName ?? "(none)"), value: num(x.sum_totalCost) }))} format={fmtCost} /> : <Loading res={byModel} />}
          </Card>
          <Card title="Tokens by model" testId="chart-tokens">
            {byModel.data ? <BarChart rows={byModel.data.map((x) => ({ label: String(x.providedModelName ?? "(none)"), value: num(x.sum_totalTokens) }))} /> : <Loading res={byModel} />}
          </Card>
          <Card title="Generation latency percentiles by model" testId="latency-model">
            {latModel.data ? <Percentiles rows={latModel.data} dim="providedModelName" /> : <Loading res={latModel} />}
          </Card>
          <Card title="Trace latency percentiles by name" testId="latency-name">
            {latName.data ? <Percentiles rows={latName.data.slice(0, 10)} dim="name" /> : <Loading res={latName} />}
          </Card>
          <Card title="Top users by cost" testId="top-users">
            {users.data ? <BarChart rows={users.data.slice(0, 10).map((x) => ({ label: String(x.userId), value: num(x.sum_totalCost) }))} format={fmtCost} /> : <Loading res={users} />}
          </Card>
        </div>
      </div>
    </div>
  );
}

function Percentiles({ rows, dim }: { rows: MetricsRow[]; dim: string }) {
  if (!rows.length) return <div class="empty">No data in this range.</div>;
  const s = (v: unknown) => fmtDuration(num(v) / 1000);
  return (
    <table class="grid compact">
      <thead><tr><th>{dim === "name" ? "Name" : "Model"}</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>n</th></tr></thead>
      <tbody>
        {rows.map((r) => (
          <tr key={String(r[dim])}>
            <td>{String(r[dim] ?? "(none)")}</td>
            <td>{s(r.p50_latency)}</td><td>{s(r.p90_latency)}</td><td>{s(r.p95_latency)}</td><td>{s(r.p99_latency)}</td>
            <td>{fmtNumber(num(r.count_count))}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
