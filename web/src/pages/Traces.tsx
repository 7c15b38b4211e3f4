import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { get, qs, type PageMeta, type ScoreAverage, type ScoreName, type TraceRow } from "../api";
import { canWrite, type Ctx } from "../app";
import { ExportButton } from "../components/ExportButton";
import { OPERATORS, TIME_RANGES, TRACE_FILTER_COLUMNS, columnOf, encodeFilters, isScoreColumn, parseFilters, searchModeOf, traceFilterParam, type Filter, type SearchMode } from "../filters";
import { fmtCost, fmtDuration, fmtNumber, fmtTime, truncate } from "../format";
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
  { id: "userId", label: "User", sort: "userId", render: (t) => <span title={t.userId ?? undefined}>{truncate(t.userId, 24)}</span> },
  { id: "sessionId", label: "Session", sort: "sessionId", render: (t, p) => t.sessionId ? <a href={`/project/${p}/sessions/${encodeURIComponent(t.sessionId)}`} onClick={linkClick}>{truncate(t.sessionId, 24)}</a> : "" },
  { id: "latency", label: "Latency", sort: "latency", render: (t) => fmtDuration(t.latency) },
  { id: "totalCost", label: "Cost", sort: "totalCost", render: (t) => fmtCost(t.totalCost) },
  { id: "observationCount", label: "Obs.", render: (t) => t.observationCount },
  { id: "tags", label: "Tags", render: (t) => t.tags.map((x) => <span class="tag" key={x}>{x}</span>) },
  {
    id: "scores", label: "Scores",
    render: (t) => Object.entries(t.scores ?? {}).map(([name, s]) => <span class="tag score-tag" key={name}>{name}: {scoreText(s)}</span>),
  },
  { id: "environment", label: "Env", sort: "environment", render: (t) => t.environment },
  { id: "release", label: "Release", sort: "release", render: (t) => t.release ?? "" },
  { id: "version", label: "Version", sort: "version", render: (t) => t.version ?? "" },
  { id: "id", label: "ID", sort: "id", render: (t) => <code>{truncate(t.id, 14)}</code> },
];
const DEFAULT_COLS = ["timestamp", "name", "input", "output", "userId", "sessionId", "latency", "totalCost", "tags", "scores"];

// A column per score name: "score:<name>" in the URL's column list.
const SCORE_COL = "score:";

function scoreColumn(name: string): Column {
  return {
    id: SCORE_COL + name,
    label: name,
    render: (t) => {
      const s = t.scores?.[name];
      return s ? <span class="score-cell" title={s.count > 1 ? `${s.count} scores` : undefined}>{scoreText(s)}</span> : "";
    },
  };
}

// Numeric and boolean scores show their average (and how many were
// averaged), categorical ones their values.
function scoreText(s: ScoreAverage): string {
  if (s.values && s.values.length) return s.values.join(", ");
  if (s.average === null) return `${s.count}×`;
  const v = fmtNumber(Math.round(s.average * 1000) / 1000);
  return s.count > 1 ? `${v} (n=${s.count})` : v;
}

export function Traces({ ctx }: { ctx: Ctx }) {
  const loc = useLocation();
  const q = loc.query;
  const range = q.get("range") ?? "7d";
  const filters = parseFilters(q.get("filter"));
  const search = q.get("q") ?? "";
  const searchMode = searchModeOf(q.get("searchIn"));
  const orderBy = q.get("orderBy") ?? "timestamp";
  const order = q.get("order") === "asc" ? "asc" : "desc";
  const page = Math.max(1, Number(q.get("page") ?? 1) || 1);
  const limit = Number(q.get("limit") ?? 50) || 50;
  const cols = (q.get("cols") ?? DEFAULT_COLS.join(",")).split(",").filter((c) => c.startsWith(SCORE_COL) || COLUMNS.some((x) => x.id === c));
  const pid = ctx.project.id;
  const scoreNames = useLoad(() => get<{ data: ScoreName[] }>(`/projects/${pid}/score-names`), pid);
  const names = scoreNames.data?.data ?? [];

  // The time range is relative: recompute "now" only when the view changes.
  // A name search is a filter condition; a text search is the server's own.
  const filterParam = traceFilterParam(filters, range, searchMode === "names" ? search : "");
  const textSearch = searchMode === "text" ? search.trim() : "";
  const key = `${pid}|${q.get("filter") ?? ""}|${range}|${search}|${searchMode}|${orderBy}|${order}|${page}|${limit}`;
  const res = useLoad(
    () => get<{ data: TraceRow[]; meta: PageMeta }>(`/projects/${pid}/traces` + qs({ page, limit, orderBy, order, filter: filterParam, search: textSearch })),
    key,
  );

  const setSort = (c: string) => {
    if (orderBy === c) setQuery({ order: order === "desc" ? "asc" : "desc", page: null });
    else setQuery({ orderBy: c, order: "desc", page: null });
  };
  const meta = res.data?.meta;
  // Fixed columns in their order, then score columns in the URL's order.
  const shown = [
    ...COLUMNS.filter((c) => cols.includes(c.id)),
    ...cols.filter((c) => c.startsWith(SCORE_COL)).map((c) => scoreColumn(c.slice(SCORE_COL.length))),
  ];
  return (
    <div class="page">
      <div class="page-head">
        <h2>Traces</h2>
        {meta && (
          <span class="muted" data-testid="trace-total">
            {meta.totalItems.toLocaleString()} trace{meta.totalItems === 1 ? "" : "s"}{meta.search ? " found" : ""}
          </span>
        )}
      </div>
      <div class="toolbar">
        <select value={range} onChange={(e) => setQuery({ range: (e.currentTarget as HTMLSelectElement).value, page: null })} data-testid="time-range">
          {TIME_RANGES.map((r) => <option key={r.id} value={r.id}>{r.label}</option>)}
        </select>
        <SearchBox value={search} mode={searchMode} />
        <FilterBuilder filters={filters} scoreNames={names} />
        <ColumnPicker cols={cols} scoreNames={names} />
        {canWrite(ctx.project.role) && (
          <ExportButton pid={pid} table="traces" params={{ orderBy, order, filter: filterParam, search: textSearch }} />
        )}
      </div>
      {meta?.observationFilterTruncated && (
        <div class="warn">The level/model filter matched more than 10,000 traces; only the most recent matches are listed.</div>
      )}
      {meta?.search && <SearchNote s={meta.search} byTime={orderBy === "timestamp" && order === "desc"} />}
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

function SearchBox({ value, mode }: { value: string; mode: SearchMode }) {
  const [v, setV] = useState(value);
  useEffect(() => setV(value), [value]);
  return (
    <form class="search-form" onSubmit={(e) => { e.preventDefault(); setQuery({ q: v, page: null }); }}>
      <input class="search" placeholder={mode === "text" ? "Search input and output…" : "Search names…"} value={v} data-testid="trace-search"
        onInput={(e) => setV((e.currentTarget as HTMLInputElement).value)} />
      <select value={mode} data-testid="search-mode" title="What the search looks at"
        onChange={(e) => {
          const m = (e.currentTarget as HTMLSelectElement).value;
          setQuery({ searchIn: m === "text" ? "text" : null, q: v, page: null });
        }}>
        <option value="names">Names</option>
        <option value="text">Full text</option>
      </select>
    </form>
  );
}

// What a text search looked at: payloads are read to be searched, so the
// server searches a bounded number of traces of the listing.
function SearchNote({ s, byTime }: { s: NonNullable<PageMeta["search"]>; byTime: boolean }) {
  const which = byTime ? "newest" : "first";
  if (!s.budgetReached) {
    return <div class="muted small search-note" data-testid="search-note">Searched the input and output of all {s.searched.toLocaleString()} traces in this time range and filter.</div>;
  }
  return (
    <div class="warn search-note" data-testid="search-note">
      Searched the input and output of the {which} {s.searched.toLocaleString()} traces in this time range and filter only.
      Narrow the time range or add filters to search the others.
    </div>
  );
}

function FilterBuilder({ filters, scoreNames }: { filters: Filter[]; scoreNames: ScoreName[] }) {
  const [open, setOpen] = useState(false);
  const [draft, setDraft] = useState<Filter[]>(filters);
  useEffect(() => setDraft(filters), [JSON.stringify(filters)]);
  const apply = () => {
    const complete = draft.filter((f) => f.value.trim() !== "" && (!isScoreColumn(f.column) || !!f.key));
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
          {isScoreColumn(f.column) ? `Score ${f.key ?? ""}` : columnOf(f.column)?.label ?? f.column} {f.operator} {f.value}
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
                    const key = isScoreColumn(c.id) ? scoreNamesFor(scoreNames, c.id)[0] : undefined;
                    update(i, { column: c.id, operator: OPERATORS[c.type][0], value: "", key });
                  }}>
                  {TRACE_FILTER_COLUMNS.map((c) => <option key={c.id} value={c.id}>{c.label}</option>)}
                </select>
                {isScoreColumn(f.column) && (
                  <ScoreKey value={f.key ?? ""} names={scoreNamesFor(scoreNames, f.column)} testId={`filter-key-${i}`}
                    onChange={(k) => update(i, { key: k })} />
                )}
                <select value={f.operator} data-testid={`filter-operator-${i}`} onChange={(e) => update(i, { operator: (e.currentTarget as HTMLSelectElement).value })}>
                  {OPERATORS[col.type].map((o) => <option key={o} value={o}>{o}</option>)}
                </select>
                <input value={f.value} data-testid={`filter-value-${i}`}
                  placeholder={col.options ? col.options.join(", ") : col.type === "number" || col.type === "numberObject" ? "number" : col.type.endsWith("Options") ? "a, b" : "value"}
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

// The score names a score filter can name: numeric and boolean scores for
// value comparisons, categorical ones for value lists.
function scoreNamesFor(names: ScoreName[], column: string): string[] {
  const categorical = column === "scoreCategories";
  const out = names.filter((n) => (n.dataType === "CATEGORICAL") === categorical).map((n) => n.name);
  return [...new Set(out)];
}

function ScoreKey({ value, names, onChange, testId }: { value: string; names: string[]; onChange: (k: string) => void; testId: string }) {
  if (!names.length) {
    return <input class="score-key" placeholder="score name" value={value} data-testid={testId} onInput={(e) => onChange((e.currentTarget as HTMLInputElement).value)} />;
  }
  return (
    <select class="score-key" value={value} data-testid={testId} onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value)}>
      {!names.includes(value) && <option value={value}>{value || "score…"}</option>}
      {names.map((n) => <option key={n} value={n}>{n}</option>)}
    </select>
  );
}

function ColumnPicker({ cols, scoreNames }: { cols: string[]; scoreNames: ScoreName[] }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  const toggle = (id: string) => {
    let next: string[];
    if (cols.includes(id)) next = cols.filter((c) => c !== id);
    else if (id.startsWith(SCORE_COL)) next = [...cols, id];
    else next = [...COLUMNS.map((c) => c.id).filter((c) => c === id || cols.includes(c)), ...cols.filter((c) => c.startsWith(SCORE_COL))];
    setQuery({ cols: next.join(",") === DEFAULT_COLS.join(",") ? null : next.join(",") }, true);
  };
  const scoreCols = [...new Set(scoreNames.map((n) => n.name))];
  return (
    <div class="popover-anchor" ref={ref}>
      <button onClick={() => setOpen(!open)} data-testid="columns-button">Columns</button>
      {open && (
        <div class="popover cols-pop">
          {COLUMNS.map((c) => (
            <label key={c.id} class="check">
              <input type="checkbox" checked={cols.includes(c.id)} onChange={() => toggle(c.id)} data-testid={`col-${c.id}`} /> {c.label}
            </label>
          ))}
          {scoreCols.length > 0 && <div class="pop-head">Score columns</div>}
          {scoreCols.map((n) => (
            <label key={n} class="check">
              <input type="checkbox" checked={cols.includes(SCORE_COL + n)} onChange={() => toggle(SCORE_COL + n)} data-testid={`score-col-${n}`} /> {n}
            </label>
          ))}
        </div>
      )}
    </div>
  );
}
