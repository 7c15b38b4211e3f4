import { useState } from "preact/hooks";
import { post, type BatchExport } from "../api";
import { fmtTime } from "../format";

// Exports every row of a list's current filters (not just the page shown) as
// one file; the server writes it and answers with an expiring download link.
export function ExportButton({ pid, table, params }: { pid: string; table: "traces" | "scores"; params: Record<string, string> }) {
  const [open, setOpen] = useState(false);
  const [format, setFormat] = useState<"csv" | "jsonl">("csv");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<BatchExport | null>(null);
  const start = async () => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      setDone(await post<BatchExport>(`/projects/${pid}/batch-exports`, { ...params, table, format }));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="popover-anchor">
      <button type="button" onClick={() => setOpen(!open)} data-testid="export-button">Export</button>
      {open && (
        <div class="popover export-pop" data-testid="export-popover">
          <div class="pop-head">Export the {table} of this view</div>
          <label class="check">
            <input type="radio" name="export-format" checked={format === "csv"} onChange={() => setFormat("csv")} data-testid="export-format-csv" /> CSV
          </label>
          <label class="check">
            <input type="radio" name="export-format" checked={format === "jsonl"} onChange={() => setFormat("jsonl")} data-testid="export-format-jsonl" /> JSON Lines
          </label>
          <button type="button" class="primary" disabled={busy} onClick={start} data-testid="export-start">{busy ? "Exporting…" : "Export"}</button>
          {error && <div class="error" role="alert">{error}</div>}
          {done && (
            <div class="small" data-testid="export-result">
              <a href={done.url} download={done.fileName} data-testid="export-link">Download {done.fileName}</a>
              <div class="muted">
                {done.rows.toLocaleString()} row{done.rows === 1 ? "" : "s"}; the link expires {fmtTime(done.expiresAt)}.
                {done.truncated && ` Only the first ${done.rowLimit.toLocaleString()} rows were exported.`}
              </div>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
