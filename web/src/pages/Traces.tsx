import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { get, qs, type PageMeta, type TraceRow } from "../api";
import type { Ctx } from "../app";
import { OPERATORS, TIME_RANGES, TRACE_FILTER_COLUMNS, columnOf, encodeFilters, parseFilters, traceFilterParam, type Filter } from "../filters";
import { fmtCost, fmtDuration, fmtTime, truncate } from "../format";
import { useLoad } from "../hooks";
import { linkClick, navigate, setQuery, useLocation } from "../router";

interface Column {
  id: string;
  label: string;
  sort?: string;
  render: (t: TraceRow, project: string) => ComponentChildren;
}

const COLUMNS: Column[] = [
  { id: "timestamp", label: "Timestamp", sort: "timestamp", render: (t) => fmtTime(t.timestamp) },
  {
    id: "name", label: "Name", sort: "name",
    render: (t, p) => <a href={`/project/${p}/traces/${encodeURIComponent(t.id)}`} onClick={linkClick}>{t.name ?? <i class="muted">(no name)</i>}</a>,
  },
  { id: "input", label: "Input", render: (t) => <span class="preview">{truncate(t.input, 80)}</span> },
  { id: "output", label: "Output", render: (t) => <span class="preview">{truncate(t.output, 80)}</span> },
  { id: "userId", label: "User", sort: "userId", render: (t) => t.userId ?? "" },
  { id: "sessionId", label: "Session", sort: "sessionId", render: (t, p) => t.sessionId ? <a href={`/project/${p}/sessions/${encodeURIComponent(t.sessionId)}`} onClick={linkClick}>{truncate(t.sessionId, 24)}</a> : "" },
  { id: "latency", label: "Latency", sort: "latency", render: (t) => fmtDuration(t.latency) },
  { id: "totalCost", label: "Cost", sort: "totalCost", render: (t) => fmtCost(t.totalCost) },
  { id: "observationCount", label: "Obs.", render: (t) => t.observationCount },
  { id: "tags", label: "Tags", render: (t) => t.tags.map((x) => <span class="tag" key={x}>{x}</span>) },
  { id: "environment", label: "Env", sort: "environment", render: (t) => t.environment },
  { id: "release", label: "Release", sort: "release", render: (t) => t.release ?? "" },
  { id: "version", label: "Version", sort: "version", render: (t) => t.version ?? "" },
  { id: "id", label: "ID", sort: "id", render: (t) => <code>{truncate(t.id, 14)}</code> },
];
const DEFAULT_COLS = ["timestamp", "name", "input", "output", "userId", "sessionId", "latency", "totalCost", "tags"];

export function Traces({ ctx }: { ctx: Ctx }) {
  const loc = useLocation();
  const q = loc.query;
  const range = q.get("range") ?? "7d";
  const filters = parseFilters(q.get("filter"));
  const search = q.get("q") ?? "";
  const orderBy = q.get("orderBy") ?? "timestamp";
  const order = q.get("order") === "asc" ? "asc" : "desc";
  const page = Math.max(1, Number(q.get("page") ?? 1) || 1);
  const limit = Number(q.get("limit") ?? 50) || 50;
  const cols = (q.get("cols") ?? DEFAULT_COLS.join(",")).split(",").filter((c) => COLUMNS.some((x) => x.id === c));
  const pid = ctx.project.id;

  // The time range is relative: recompute "now" only when the view changes.
  const filterParam = traceFilterParam(filters, range, search);
  const key = `${pid}|${q.get("filter") ?? ""}|${range}|${search}|${orderBy}|${order}|${page}|${limit}`;
  const res = useLoad(
    () => get<{ data: TraceRow[]; meta: PageMeta }>(`/projects/${pid}/traces` + qs({ page, limit, orderBy, order, filter: filterParam })),
    key,
  );

  const setSort = (c: string) => {
    if (orderBy === c) setQuery({ order: order === "desc" ? "asc" : "desc", page: null });
    else setQuery({ orderBy: c, order: "desc", page: null });
  };
  const meta = res.data?.meta;
  const shown = COLUMNS.filter((c) => cols.includes(c.id));
  return (
    <div class="page">
      <div class="page-head">
        <h2>Traces</h2>
        {meta && <span class="muted" data-testid="trace-total">{meta.totalItems.toLocaleString()} traces</span>}
      </div>
      <div class="toolbar">
        <select value={range} onChange={(e) => setQuery({ range: (e.currentTarget as HTMLSelectElement).value, page: null })} data-testid="time-range">
          {TIME_RANGES.map((r) => <option key={r.id} value={r.id}>{r.label}</option>)}
        </select>
        <SearchBox value={search} />
        <FilterBuilder filters={filters} />
        <ColumnPicker cols={cols} />
      </div>
      {meta?.observationFilterTruncated && (
        <div class="warn">The level/model filter matched more than 10,000 traces; only the most recent matches are listed.</div>
      )}
      {res.error && <div class="error" role="alert">{res.error}</div>}
      <div class={"table-wrap" + (res.loading ? " is-loading" : "")}>
        <table class="grid" data-testid="traces-table">
          <thead>
            <tr>
              {shown.map((c) => (
                <th key={c.id} class={c.sort ? "sortable" : ""} onClick={() => c.sort && setSort(c.sort)}>
                  {c.label}
                  {c.sort === orderBy && <span class="sort">{order === "desc" ? " ▼" : " ▲"}</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {res.data?.data.map((t) => (
              <tr key={t.id} class="clickable" data-trace-id={t.id}
                onClick={(e) => {
                  if ((e.target as HTMLElement).closest("a")) return;
                  navigate(`/project/${pid}/traces/${encodeURIComponent(t.id)}`);
                }}>
                {shown.map((c) => <td key={c.id} class={`col-${c.id}`}>{c.render(t, pid)}</td>)}
              </tr>
            ))}
            {res.data && res.data.data.length === 0 && (
              <tr><td colSpan={shown.length} class="empty">No traces match. Widen the time range or remove filters.</td></tr>
            )}
          </tbody>
        </table>
      </div>
      {meta && (
        <div class="pager">
          <button disabled={page <= 1} onClick={() => setQuery({ page: String(page - 1) })}>‹ Prev</button>
          <span>Page {page} of {Math.max(1, meta.totalPages)}</span>
          <button disabled={page >= meta.totalPages} onClick={() => setQuery({ page: String(page + 1) })} data-testid="next-page">Next ›</button>
          <select value={String(limit)} onChange={(e) => setQuery({ limit: (e.currentTarget as HTMLSelectElement).value, page: null })}>
            {[20, 50, 100].map((n) => <option key={n} value={n}>{n} / page</option>)}
          </select>
        </div>
      )}
    </div>
  );
}

function SearchBox({ value }: { value: string }) {
  const [v, setV] = useState(value);
  useEffect(() => setV(value), [value]);
  return (
    <form onSubmit={(e) => { e.preventDefault(); setQuery({ q: v, page: null }); }}>
      <input class="search" placeholder="Search names…" value={v} data-testid="trace-search"
        onInput={(e) => setV((e.currentTarget as HTMLInputElement).value)} />
    </form>
  );
}

function FilterBuilder({ filters }: { filters: Filter[] }) {
  const [open, setOpen] = useState(false);
  const [draft, setDraft] = useState<Filter[]>(filters);
  useEffect(() => setDraft(filters), [JSON.stringify(filters)]);
  const apply = () => {
    const complete = draft.filter((f) => f.value.trim() !== "");
    setQuery({ filter: encodeFilters(complete), page: null });
    setOpen(false);
  };
  const update = (i: number, f: Partial<Filter>) => setDraft(draft.map((x, j) => (j === i ? { ...x, ...f } : x)));
  return (
    <div class="popover-anchor">
      <button onClick={() => setOpen(!open)} data-testid="filter-button">
        Filters{filters.length ? ` (${filters.length})` : ""}
      </button>
      {filters.map((f, i) => (
        <span class="chip" key={i}>
          {columnOf(f.column)?.label ?? f.column} {f.operator} {f.value}
          <button class="x" title="Remove" onClick={() => setQuery({ filter: encodeFilters(filters.filter((_, j) => j !== i)), page: null })}>×</button>
        </span>
      ))}
      {open && (
        <div class="popover filter-pop" data-testid="filter-popover">
          {draft.map((f, i) => {
            const col = columnOf(f.column) ?? TRACE_FILTER_COLUMNS[0];
            return (
              <div class="filter-row" key={i}>
                <select value={f.column} data-testid={`filter-column-${i}`}
                  onChange={(e) => {
                    const c = columnOf((e.currentTarget as HTMLSelectElement).value)!;
                    update(i, { column: c.id, operator: OPERATORS[c.type][0], value: "" });
                  }}>
                  {TRACE_FILTER_COLUMNS.map((c) => <option key={c.id} value={c.id}>{c.label}</option>)}
                </select>
                <select value={f.operator} data-testid={`filter-operator-${i}`} onChange={(e) => update(i, { operator: (e.currentTarget as HTMLSelectElement).value })}>
                  {OPERATORS[col.type].map((o) => <option key={o} value={o}>{o}</option>)}
                </select>
                <input value={f.value} data-testid={`filter-value-${i}`}
                  placeholder={col.options ? col.options.join(", ") : col.type === "number" ? "number" : col.type.endsWith("Options") ? "a, b" : "value"}
                  onInput={(e) => update(i, { value: (e.currentTarget as HTMLInputElement).value })}
                  onKeyDown={(e) => e.key === "Enter" && apply()} />
                <button class="x" onClick={() => setDraft(draft.filter((_, j) => j !== i))}>×</button>
              </div>
            );
          })}
          <div class="actions">
            <button onClick={() => setDraft([...draft, { column: "name", operator: "=", value: "" }])} data-testid="filter-add">+ Add filter</button>
            <button class="primary" onClick={apply} data-testid="filter-apply">Apply</button>
          </div>
        </div>
      )}
    </div>
  );
}

function ColumnPicker({ cols }: { cols: string[] }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  const toggle = (id: string) => {
    const next = cols.includes(id) ? cols.filter((c) => c !== id) : COLUMNS.map((c) => c.id).filter((c) => c === id || cols.includes(c));
    setQuery({ cols: next.join(",") === DEFAULT_COLS.join(",") ? null : next.join(",") }, true);
  };
  return (
    <div class="popover-anchor" ref={ref}>
      <button onClick={() => setOpen(!open)} data-testid="columns-button">Columns</button>
      {open && (
        <div class="popover cols-pop">
          {COLUMNS.map((c) => (
            <label key={c.id} class="check">
              <input type="checkbox" checked={cols.includes(c.id)} onChange={() => toggle(c.id)} /> {c.label}
            </label>
          ))}
        </div>
      )}
    </div>
  );
}
