import { get, qs, type PageMeta, type SessionDetail, type SessionRow } from "../api";
import type { Ctx } from "../app";
import { IOView } from "../components/IOView";
import { fmtCost, fmtDuration, fmtTime } from "../format";
import { useLoad } from "../hooks";
import { linkClick, navigate, setQuery, useLocation } from "../router";

export function Sessions({ ctx }: { ctx: Ctx }) {
  const loc = useLocation();
  const pid = ctx.project.id;
  const page = Math.max(1, Number(loc.query.get("page") ?? 1) || 1);
  const res = useLoad(() => get<{ data: SessionRow[]; meta: PageMeta }>(`/projects/${pid}/sessions` + qs({ page, limit: 50 })), `${pid}|${page}`);
  const meta = res.data?.meta;
  return (
    <div class="page">
      <div class="page-head">
        <h2>Sessions</h2>
        {meta && <span class="muted">{meta.totalItems.toLocaleString()} sessions</span>}
      </div>
      {res.error && <div class="error" role="alert">{res.error}</div>}
      <div class={"table-wrap" + (res.loading ? " is-loading" : "")}>
        <table class="grid" data-testid="sessions-table">
          <thead><tr><th>Session</th><th>Created</th><th>Traces</th><th>Users</th><th>Cost</th><th>Env</th></tr></thead>
          <tbody>
            {res.data?.data.map((s) => (
              <tr key={s.id} class="clickable" onClick={() => navigate(`/project/${pid}/sessions/${encodeURIComponent(s.id)}`)}>
                <td><a href={`/project/${pid}/sessions/${encodeURIComponent(s.id)}`} onClick={linkClick}>{s.id}</a></td>
                <td>{fmtTime(s.createdAt)}</td>
                <td>{s.traceCount}</td>
                <td>{s.userCount}</td>
                <td>{fmtCost(s.totalCost)}</td>
                <td>{s.environment}</td>
              </tr>
            ))}
            {res.data && res.data.data.length === 0 && <tr><td colSpan={6} class="empty">No sessions yet. Set a sessionId on traces to group them.</td></tr>}
          </tbody>
        </table>
      </div>
      {meta && (
        <div class="pager">
          <button disabled={page <= 1} onClick={() => setQuery({ page: String(page - 1) })}>‹ Prev</button>
          <span>Page {page} of {Math.max(1, meta.totalPages)}</span>
          <button disabled={page >= meta.totalPages} onClick={() => setQuery({ page: String(page + 1) })}>Next ›</button>
        </div>
      )}
    </div>
  );
}

// The session's traces in order, read as a conversation: each turn shows
// what went in and what came out.
export function SessionView({ ctx, sessionId }: { ctx: Ctx; sessionId: string }) {
  const pid = ctx.project.id;
  const res = useLoad(() => get<SessionDetail>(`/projects/${pid}/sessions/${encodeURIComponent(sessionId)}`), `${pid}|${sessionId}`);
  if (res.error) return <div class="page"><div class="error" role="alert">{res.error}</div></div>;
  const s = res.data;
  if (!s) return <div class="page muted">Loading session…</div>;
  return (
    <div class="page">
      <div class="crumbs"><a href={`/project/${pid}/sessions`} onClick={linkClick}>Sessions</a> / <span>{s.id}</span></div>
      <div class="trace-head">
        <h2 data-testid="session-title">Session {s.id}</h2>
        <div class="chips">
          <span class="chip">{s.traceCount} traces</span>
          <span class="chip">Cost {fmtCost(s.totalCost)}</span>
          {s.createdAt && <span class="chip">{fmtTime(s.createdAt)}</span>}
        </div>
      </div>
      {s.truncated && <div class="warn">Showing the first {s.traces.length} traces.</div>}
      <div class="conversation" data-testid="session-conversation">
        {s.traces.map((t, i) => (
          <div class="turn" key={t.id}>
            <div class="turn-head">
              <span class="muted">#{i + 1}</span>
              <a href={`/project/${pid}/traces/${encodeURIComponent(t.id)}`} onClick={linkClick}>{t.name ?? t.id}</a>
              <span class="muted">{fmtTime(t.timestamp)} · {fmtDuration(t.latency)} · {fmtCost(t.totalCost)}</span>
              {t.userId && <span class="tag">{t.userId}</span>}
            </div>
            <div class="turn-body">
              <IOView label="Input" value={t.input} />
              <IOView label="Output" value={t.output} />
            </div>
          </div>
        ))}
      </div>
    </div>
  );
}
