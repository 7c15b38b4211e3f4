import { useState } from "preact/hooks";
import { del, get, post, type Role } from "../api";
import { canWrite, isAdmin, type Ctx } from "../app";
import { useLoad } from "../hooks";

interface Member {
  userId: string;
  email: string;
  name: string;
  orgRole: Role;
  projectRole: Role | null;
}

const ROLES: Role[] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];

// The organization's members: admins add existing accounts by email, change
// roles and remove members; nobody grants a role above their own.
export function Members({ ctx }: { ctx: Ctx }) {
  const pid = ctx.project.id;
  const role = ctx.project.role;
  const admin = isAdmin(role);
  const res = useLoad(() => (canWrite(role) ? get<{ data: Member[] }>(`/projects/${pid}/members`) : Promise.resolve({ data: [] })), pid);
  const [email, setEmail] = useState("");
  const [newRole, setNewRole] = useState<Role>("MEMBER");
  const [error, setError] = useState("");
  const grantable = ROLES.filter((r) => ROLES.indexOf(r) >= ROLES.indexOf(role));
  const add = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      await post(`/projects/${pid}/members`, { email, role: newRole });
      setEmail("");
      res.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const change = async (m: Member, r: string) => {
    setError("");
    try {
      await post(`/projects/${pid}/members`, { email: m.email, role: r });
      res.reload();
    } catch (err) {
      setError((err as Error).message);
      res.reload();
    }
  };
  const remove = async (m: Member) => {
    if (!confirm(`Remove ${m.email} from ${ctx.org.name}?`)) return;
    setError("");
    try {
      await del(`/projects/${pid}/members/${encodeURIComponent(m.userId)}`);
      res.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  if (!canWrite(role)) return <p class="muted">Viewers cannot see the member list.</p>;
  return (
    <div>
      <div class="table-wrap">
        <table class="grid" data-testid="members-table">
          <thead><tr><th>Name</th><th>Email</th><th>Organization role</th><th>Project role</th><th></th></tr></thead>
          <tbody>
            {res.data?.data.map((m) => (
              <tr key={m.userId}>
                <td>{m.name}</td>
                <td>{m.email}</td>
                <td>
                  {admin && m.email !== ctx.session.user.email && ROLES.indexOf(m.orgRole) >= ROLES.indexOf(role) ? (
                    <select value={m.orgRole} onChange={(e) => change(m, (e.currentTarget as HTMLSelectElement).value)}>
                      {grantable.map((r) => <option key={r} value={r}>{r}</option>)}
                    </select>
                  ) : m.orgRole}
                </td>
                <td>{m.projectRole ?? <span class="muted">as organization</span>}</td>
                <td>
                  {admin && m.email !== ctx.session.user.email && ROLES.indexOf(m.orgRole) >= ROLES.indexOf(role) && (
                    <button class="danger" onClick={() => remove(m)}>Remove</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {admin && (
        <form class="form inline" onSubmit={add}>
          <input type="email" placeholder="Email of an existing account" value={email} data-testid="member-email"
            onInput={(e) => setEmail((e.currentTarget as HTMLInputElement).value)} />
          <select value={newRole} onChange={(e) => setNewRole((e.currentTarget as HTMLSelectElement).value as Role)} data-testid="member-role">
            {grantable.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
          <button class="primary" type="submit" data-testid="member-add">Add member</button>
        </form>
      )}
      {error && <div class="error" role="alert">{error}</div>}
    </div>
  );
}
