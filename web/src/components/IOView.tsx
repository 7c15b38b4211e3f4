// Input/output viewer: chat messages as a conversation, strings as
// Markdown, anything else as a JSON tree; "JSON" shows the raw value.

import { useState } from "preact/hooks";
import { JsonView } from "./JsonView";
import { Markdown } from "./Markdown";

export interface ChatMessage {
  role: string;
  content: unknown;
  name?: string;
  tool_calls?: unknown;
}

function isMessage(x: unknown): x is ChatMessage {
  return !!x && typeof x === "object" && !Array.isArray(x) && typeof (x as ChatMessage).role === "string" &&
    ("content" in (x as object) || "tool_calls" in (x as object));
}

// The chat messages in a value, or null when it is not a conversation.
export function chatMessages(v: unknown): ChatMessage[] | null {
  if (Array.isArray(v) && v.length > 0 && v.every(isMessage)) return v;
  if (isMessage(v)) return [v];
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const m = (v as Record<string, unknown>).messages;
    if (Array.isArray(m) && m.length > 0 && m.every(isMessage)) return m;
  }
  return null;
}

function contentText(c: unknown): string | null {
  if (typeof c === "string") return c;
  if (Array.isArray(c)) {
    const parts = c.map((p) =>
      p && typeof p === "object" && typeof (p as { text?: unknown }).text === "string"
        ? (p as { text: string }).text
        : null,
    );
    if (parts.every((p) => p !== null)) return parts.join("\n");
  }
  return null;
}

function Message({ m }: { m: ChatMessage }) {
  const text = contentText(m.content);
  return (
    <div class={`msg msg-${m.role}`}>
      <div class="msg-role">
        {m.role}
        {m.name ? ` · ${m.name}` : ""}
      </div>
      {text !== null ? <Markdown text={text} /> : m.content != null ? <JsonView value={m.content} /> : null}
      {m.tool_calls != null && <JsonView value={m.tool_calls} />}
    </div>
  );
}

export function IOView({ label, value }: { label: string; value: unknown }) {
  const [raw, setRaw] = useState(false);
  if (value === null || value === undefined) return null;
  const messages = chatMessages(value);
  let body;
  if (raw) body = <pre class="raw">{typeof value === "string" ? value : JSON.stringify(value, null, 2)}</pre>;
  else if (messages) body = <div class="chat">{messages.map((m, i) => <Message key={i} m={m} />)}</div>;
  else if (typeof value === "string") body = <div class="text-block"><Markdown text={value} /></div>;
  else body = <JsonView value={value} />;
  return (
    <section class="io" data-testid={`io-${label.toLowerCase()}`}>
      <header>
        <h4>{label}</h4>
        <div class="seg">
          <button class={raw ? "" : "on"} onClick={() => setRaw(false)}>Formatted</button>
          <button class={raw ? "on" : ""} onClick={() => setRaw(true)}>JSON</button>
        </div>
      </header>
      {body}
    </section>
  );
}
