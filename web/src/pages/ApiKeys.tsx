import { useState } from "preact/hooks";
import { del, get, post, type ApiKey } from "../api";
import { isAdmin, type Ctx } from "../app";
import { Modal } from "../components/Modal";
import { Members } from "./Members";
import { fmtTime } from "../format";
import { useLoad } from "../hooks";
import { SettingsNav } from "./SettingsNav";

export function ApiKeys({ ctx }: { ctx: Ctx }) {
  const pid = ctx.project.id;
  const admin = isAdmin(ctx.project.role);
  const res = useLoad(() => (admin ? get<{ data: ApiKey[] }>(`/projects/${pid}/api-keys`) : Promise.resolve({ data: [] })), `${pid}`);
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [note, setNote] = useState("");
  const [error, setError] = useState("");
  const create = async () => {
    setError("");
    try {
      const k = await post<ApiKey>(`/projects/${pid}/api-keys`, { note });
      setNote("");
      setCreated(k);
      res.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const revoke = async (k: ApiKey) => {
    if (!confirm(`Revoke ${k.publicKey}? Applications using it stop working at once.`)) return;
    try {
      await del(`/projects/${pid}/api-keys/${encodeURIComponent(k.id)}`);
      res.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const host = location.origin;
  return (
    <div class="page">
      <div class="page-head"><h2>Project settings</h2></div>
      <SettingsNav pid={pid} current="api-keys" />
      <table class="kv narrow">
        <tbody>
          <tr><th>Project</th><td>{ctx.project.name}</td></tr>
          <tr><th>Project ID</th><td><code>{pid}</code></td></tr>
          <tr><th>Organization</th><td>{ctx.org.name}</td></tr>
          <tr><th>Your role</th><td>{ctx.project.role}</td></tr>
        </tbody>
      </table>
      <h3>API keys</h3>
      {!admin && <p class="muted">Only owners and admins of this project can see and manage its API keys.</p>}
      {admin && (
        <>
          {res.error && <div class="error" role="alert">{res.error}</div>}
          <div class="table-wrap">
          <table class="grid" data-testid="api-keys-table">
            <thead><tr><th>Created</th><th>Note</th><th>Public key</th><th>Secret key</th><th>Last used</th><th></th></tr></thead>
            <tbody>
              {res.data?.data.map((k) => (
                <tr key={k.id}>
                  <td>{fmtTime(k.createdAt)}</td>
                  <td>{k.note ?? ""}</td>
                  <td><code>{k.publicKey}</code></td>
                  <td><code>{k.displaySecretKey}</code></td>
                  <td>{k.lastUsedAt ? fmtTime(k.lastUsedAt) : "never"}</td>
                  <td><button class="danger" onClick={() => revoke(k)} data-testid="revoke-key">Revoke</button></td>
                </tr>
              ))}
              {res.data && res.data.data.length === 0 && <tr><td colSpan={6} class="empty">No API keys.</td></tr>}
            </tbody>
          </table>
          </div>
          <div class="form inline">
            <input placeholder="Note (optional)" value={note} onInput={(e) => setNote((e.currentTarget as HTMLInputElement).value)} />
            <button class="primary" onClick={create} data-testid="create-key">Create new API key</button>
          </div>
          {error && <div class="error" role="alert">{error}</div>}
        </>
      )}
      <h3>Members of {ctx.org.name}</h3>
      <Members ctx={ctx} />
      {created && (
        <Modal title="API key created" onClose={() => setCreated(null)}>
          <p>Copy the secret key now: it is shown only once.</p>
          <table class="kv">
            <tbody>
              <tr><th>Secret key</th><td><code data-testid="new-secret-key">{created.secretKey}</code></td></tr>
              <tr><th>Public key</th><td><code data-testid="new-public-key">{created.publicKey}</code></td></tr>
              <tr><th>Host</th><td><code>{host}</code></td></tr>
            </tbody>
          </table>
          <pre class="raw">{`LANGFUSE_SECRET_KEY=${created.secretKey}\nLANGFUSE_PUBLIC_KEY=${created.publicKey}\nLANGFUSE_HOST=${host}`}</pre>
          <div class="actions"><button class="primary" onClick={() => setCreated(null)} data-testid="close-key-modal">Done</button></div>
        </Modal>
      )}
    </div>
  );
}
