// The trace list's view state as it lives in the URL (so a view can be
// bookmarked and shared), and its translation into the server's filter
// JSON (Langfuse's {type, column, operator, value} conditions).

export type FilterType = "string" | "number" | "stringOptions" | "arrayOptions" | "datetime" | "numberObject" | "categoryOptions";

export interface FilterColumn {
  id: string;
  label: string;
  type: FilterType;
  options?: string[];
}

export interface Filter {
  column: string;
  operator: string;
  value: string; // comma-separated for the option types
  key?: string; // the score name of a score filter
}

export const TRACE_FILTER_COLUMNS: FilterColumn[] = [
  { id: "name", label: "Name", type: "string" },
  { id: "userId", label: "User ID", type: "string" },
  { id: "sessionId", label: "Session ID", type: "string" },
  { id: "tags", label: "Tags", type: "arrayOptions" },
  { id: "environment", label: "Environment", type: "stringOptions" },
  { id: "release", label: "Release", type: "string" },
  { id: "version", label: "Version", type: "string" },
  { id: "level", label: "Level", type: "stringOptions", options: ["DEBUG", "DEFAULT", "WARNING", "ERROR"] },
  { id: "model", label: "Model", type: "string" },
  { id: "latency", label: "Latency (s)", type: "number" },
  { id: "totalCost", label: "Total cost ($)", type: "number" },
  { id: "observationCount", label: "Observations", type: "number" },
  { id: "id", label: "Trace ID", type: "string" },
  // Conditions on the trace's scores of one name (the filter's key).
  { id: "scores", label: "Score (numeric)", type: "numberObject" },
  { id: "scoreCategories", label: "Score (categorical)", type: "categoryOptions" },
];

export function isScoreColumn(id: string): boolean {
  return id === "scores" || id === "scoreCategories";
}

export const OPERATORS: Record<FilterType, string[]> = {
  string: ["=", "contains", "starts with", "ends with", "does not contain"],
  number: [">=", "<=", ">", "<", "="],
  stringOptions: ["any of", "none of"],
  arrayOptions: ["any of", "all of", "none of"],
  datetime: [">=", "<"],
  numberObject: [">=", "<=", ">", "<", "="],
  categoryOptions: ["any of", "none of"],
};

export const TIME_RANGES: { id: string; label: string; ms: number | null }[] = [
  { id: "30m", label: "Past 30 min", ms: 30 * 60e3 },
  { id: "1h", label: "Past hour", ms: 3600e3 },
  { id: "6h", label: "Past 6 hours", ms: 6 * 3600e3 },
  { id: "24h", label: "Past 24 hours", ms: 24 * 3600e3 },
  { id: "7d", label: "Past 7 days", ms: 7 * 24 * 3600e3 },
  { id: "30d", label: "Past 30 days", ms: 30 * 24 * 3600e3 },
  { id: "90d", label: "Past 90 days", ms: 90 * 24 * 3600e3 },
  { id: "all", label: "All time", ms: null },
];

export function columnOf(id: string): FilterColumn | undefined {
  return TRACE_FILTER_COLUMNS.find((c) => c.id === id);
}

export function parseFilters(s: string | null): Filter[] {
  if (!s) return [];
  try {
    const v = JSON.parse(s) as unknown;
    if (!Array.isArray(v)) return [];
    return v
      .filter((f): f is Filter => !!f && typeof f === "object" && typeof f.column === "string")
      .map((f) => {
        const out: Filter = { column: f.column, operator: String(f.operator), value: String(f.value ?? "") };
        if (typeof f.key === "string") out.key = f.key;
        return out;
      });
  } catch {
    return [];
  }
}

export function encodeFilters(fs: Filter[]): string | null {
  return fs.length ? JSON.stringify(fs) : null;
}

// The server's condition for one UI filter, or null when incomplete.
export function toCondition(f: Filter): Record<string, unknown> | null {
  const col = columnOf(f.column);
  if (!col || f.value.trim() === "") return null;
  switch (col.type) {
    case "numberObject": {
      const n = Number(f.value);
      if (!f.key || !isFinite(n)) return null;
      return { type: "numberObject", column: "scores", key: f.key, operator: f.operator, value: n };
    }
    case "categoryOptions":
      if (!f.key) return null;
      return { type: "categoryOptions", column: "scores", key: f.key, operator: f.operator, value: splitList(f.value) };
    case "number": {
      const n = Number(f.value);
      if (!isFinite(n)) return null;
      return { type: "number", column: col.id, operator: f.operator, value: n };
    }
    case "stringOptions":
    case "arrayOptions":
      return {
        type: col.type,
        column: col.id,
        operator: f.operator,
        value: splitList(f.value),
      };
    case "datetime":
      return { type: "datetime", column: col.id, operator: f.operator, value: f.value };
    default:
      return { type: "string", column: col.id, operator: f.operator, value: f.value };
  }
}

function splitList(v: string): string[] {
  return v.split(",").map((x) => x.trim()).filter(Boolean);
}

// The search box searches trace names (a filter condition) or the text of
// inputs and outputs (the server's `search` parameter).
export type SearchMode = "names" | "text";

export function searchModeOf(v: string | null): SearchMode {
  return v === "text" ? "text" : "names";
}

// The `filter` parameter for the trace list: UI filters, the time range and
// the name search, all ANDed.
export function traceFilterParam(fs: Filter[], range: string, search: string, now = Date.now()): string {
  const conds: Record<string, unknown>[] = [];
  for (const f of fs) {
    const c = toCondition(f);
    if (c) conds.push(c);
  }
  const r = TIME_RANGES.find((x) => x.id === range);
  if (r && r.ms !== null) {
    conds.push({ type: "datetime", column: "timestamp", operator: ">=", value: new Date(now - r.ms).toISOString() });
  }
  if (search.trim()) conds.push({ type: "string", column: "name", operator: "contains", value: search.trim() });
  return JSON.stringify(conds);
}
