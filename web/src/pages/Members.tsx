import { useState } from "preact/hooks";
import { del, get, post, type Role } from "../api";
import { canWrite, isAdmin, type Ctx } from "../app";
import { fmtTime } from "../format";
import { useLoad } from "../hooks";

interface Member {
  userId: string;
  email: string;
  name: string;
  orgRole: Role;
  projectRole: Role | null;
}

interface Invitation {
  id: string;
  email: string;
  role: Role;
  createdAt: string;
  signUpUrl: string; // absolute, or a path when the server has no public URL
  invited?: boolean;
}

const ROLES: Role[] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];

// The organization's members: admins add accounts by email (an email without
// an account gets an invitation that turns into a membership when it signs
// up), change roles and remove members; nobody grants a role above their own.
export function Members({ ctx }: { ctx: Ctx }) {
  const pid = ctx.project.id;
  const role = ctx.project.role;
  const admin = isAdmin(role);
  const res = useLoad(
    () => (canWrite(role) ? get<{ data: Member[]; invitations: Invitation[] }>(`/projects/${pid}/members`) : Promise.resolve({ data: [], invitations: [] })),
    pid,
  );
  const [email, setEmail] = useState("");
  const [newRole, setNewRole] = useState<Role>("MEMBER");
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const grantable = ROLES.filter((r) => ROLES.indexOf(r) >= ROLES.indexOf(role));
  const add = async (e: Event) => {
    e.preventDefault();
    setError("");
    setNotice("");
    try {
      const r = await post<Member | Invitation>(`/projects/${pid}/members`, { email, role: newRole });
      setNotice("invited" in r && r.invited
        ? `${r.email} has no account yet: the invitation is pending. It becomes a membership as ${r.role} when they sign up with this email.`
        : `${r.email} was added.`);
      setEmail("");
      res.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const withdraw = async (i: Invitation) => {
    if (!confirm(`Withdraw the invitation of ${i.email}?`)) return;
    setError("");
    try {
      await del(`/projects/${pid}/invitations/${encodeURIComponent(i.id)}`);
      res.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const invitations = res.data?.invitations ?? [];
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
      {invitations.length > 0 && (
        <>
          <h4 class="sub-head">Pending invitations</h4>
          <div class="table-wrap">
            <table class="grid" data-testid="invitations-table">
              <thead><tr><th>Email</th><th>Role</th><th>Invited</th><th>Sign-up link</th><th></th></tr></thead>
              <tbody>
                {invitations.map((i) => {
                  const link = new URL(i.signUpUrl, location.origin).toString();
                  return (
                    <tr key={i.id} data-invitation={i.email}>
                      <td>{i.email}</td>
                      <td>{i.role}</td>
                      <td>{fmtTime(i.createdAt)}</td>
                      <td class="invite-link">
                        <code title={link}>{link}</code>
                        <button onClick={() => void navigator.clipboard?.writeText(link)}>Copy</button>
                      </td>
                      <td>
                        {admin && ROLES.indexOf(i.role) >= ROLES.indexOf(role) && (
                          <button class="danger" onClick={() => withdraw(i)} data-testid="invitation-withdraw">Withdraw</button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
      {admin && (
        <form class="form inline" onSubmit={add}>
          <input type="email" placeholder="Email (an account, or someone to invite)" value={email} required data-testid="member-email"
            onInput={(e) => setEmail((e.currentTarget as HTMLInputElement).value)} />
          <select value={newRole} onChange={(e) => setNewRole((e.currentTarget as HTMLSelectElement).value as Role)} data-testid="member-role">
            {grantable.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
          <button class="primary" type="submit" data-testid="member-add">Add or invite</button>
        </form>
      )}
      {admin && <p class="muted small">No email is sent: pass the sign-up link on to the person you invite.</p>}
      {notice && <div class="ok" data-testid="member-notice">{notice}</div>}
      {error && <div class="error" role="alert">{error}</div>}
    </div>
  );
}
