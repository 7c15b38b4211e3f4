import { get, qs, type UserRow } from "../api";
import type { Ctx } from "../app";
import { fmtCost, fmtNumber } from "../format";
import { useLoad } from "../hooks";
import { linkClick, navigate, setQuery, useLocation } from "../router";

export function Users({ ctx }: { ctx: Ctx }) {
  const loc = useLocation();
  const pid = ctx.project.id;
  const page = Math.max(1, Number(loc.query.get("page") ?? 1) || 1);
  const res = useLoad(
    () => get<{ data: UserRow[]; meta: { page: number; hasMore: boolean } }>(`/projects/${pid}/users` + qs({ page, limit: 50 })),
    `${pid}|${page}`,
  );
  return (
    <div class="page">
      <div class="page-head"><h2>Users</h2></div>
      {res.error && <div class="error" role="alert">{res.error}</div>}
      <div class={"table-wrap" + (res.loading ? " is-loading" : "")}>
        <table class="grid" data-testid="users-table">
          <thead><tr><th>User ID</th><th>Traces</th><th>Observations</th><th>Total cost</th></tr></thead>
          <tbody>
            {res.data?.data.map((u) => (
              <tr key={u.userId} class="clickable" onClick={() => navigate(`/project/${pid}/users/${encodeURIComponent(u.userId)}`)}>
                <td><a href={`/project/${pid}/users/${encodeURIComponent(u.userId)}`} onClick={linkClick}>{u.userId}</a></td>
                <td>{fmtNumber(u.traceCount)}</td>
                <td>{fmtNumber(u.observationCount)}</td>
                <td>{fmtCost(u.totalCost)}</td>
              </tr>
            ))}
            {res.data && res.data.data.length === 0 && <tr><td colSpan={4} class="empty">No users yet. Set a userId on traces.</td></tr>}
          </tbody>
        </table>
      </div>
      {res.data && (
        <div class="pager">
          <button disabled={page <= 1} onClick={() => setQuery({ page: String(page - 1) })}>‹ Prev</button>
          <span>Page {page}</span>
          <button disabled={!res.data.meta.hasMore} onClick={() => setQuery({ page: String(page + 1) })}>Next ›</button>
        </div>
      )}
    </div>
  );
}
