// A collapsible JSON tree. Deep or big values start collapsed so a large
// payload renders instantly; strings keep their line breaks.

import { useState } from "preact/hooks";

function Scalar({ v }: { v: unknown }) {
  if (v === null) return <span class="j-null">null</span>;
  if (typeof v === "string") return <span class="j-str">"{v}"</span>;
  if (typeof v === "number") return <span class="j-num">{String(v)}</span>;
  if (typeof v === "boolean") return <span class="j-bool">{String(v)}</span>;
  return <span>{String(v)}</span>;
}

function Node({ name, v, depth }: { name?: string; v: unknown; depth: number }) {
  const isObj = v !== null && typeof v === "object";
  const entries = isObj ? (Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v as object)) : [];
  const [open, setOpen] = useState(depth < 2 && entries.length <= 50);
  const label = name !== undefined ? <span class="j-key">{name}: </span> : null;
  if (!isObj) {
    return (
      <div class="j-line">
        {label}
        <Scalar v={v} />
      </div>
    );
  }
  const brackets = Array.isArray(v) ? ["[", "]"] : ["{", "}"];
  const shown = open ? entries.slice(0, 500) : [];
  return (
    <div class="j-line">
      <button class="j-toggle" onClick={() => setOpen(!open)}>
        {open ? "▾" : "▸"}
      </button>
      {label}
      {brackets[0]}
      {!open && <span class="j-more">{entries.length} {Array.isArray(v) ? "items" : "keys"}</span>}
      {!open && brackets[1]}
      {open && (
        <div class="j-children">
          {shown.map(([k, x]) => (
            <Node key={k} name={k} v={x} depth={depth + 1} />
          ))}
          {entries.length > shown.length && <div class="j-more">… {entries.length - shown.length} more</div>}
        </div>
      )}
      {open && <div>{brackets[1]}</div>}
    </div>
  );
}

export function JsonView({ value }: { value: unknown }) {
  return (
    <div class="json">
      <Node v={value} depth={0} />
    </div>
  );
}
