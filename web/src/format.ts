// Display formatting shared by the pages.

export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 60) return `${seconds.toFixed(2)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m ${Math.round(seconds - m * 60)}s`;
}

export function fmtCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || usd === 0) return usd === 0 ? "$0" : "–";
  if (usd < 1) {
    // Three significant digits without exponent notation: $0.00000435.
    const digits = Math.min(12, Math.max(2, 2 - Math.floor(Math.log10(usd))));
    return `$${usd.toFixed(digits).replace(/0+$/, "").replace(/\.$/, "")}`;
  }
  return `$${usd.toFixed(2)}`;
}

export function fmtNumber(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  return n.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

export function fmtTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return "–";
  const d = new Date(iso);
  if (isNaN(d.getTime())) return String(iso);
  const pad = (x: number, n = 2) => String(x).padStart(n, "0");
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

export function truncate(s: string | null | undefined, n: number): string {
  if (!s) return "";
  return s.length > n ? s.slice(0, n) + "…" : s;
}

// Short labels for observation types in the tree.
export function typeLabel(type: string): string {
  const map: Record<string, string> = { GENERATION: "GEN", EVENT: "EVT", RETRIEVER: "RETR", EMBEDDING: "EMB", GUARDRAIL: "GUARD", EVALUATOR: "EVAL" };
  return map[type] ?? type;
}
