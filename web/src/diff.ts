// A line diff (longest common subsequence) for comparing prompt versions.

export interface DiffLine {
  kind: "same" | "add" | "del";
  text: string;
}

// Lines of `a` and `b` in order, marked as kept, removed (only in `a`) or
// added (only in `b`). Quadratic in the line count, which is fine for
// prompts; very long inputs fall back to "all removed, all added".
export function diffLines(a: string, b: string): DiffLine[] {
  const x = a.split("\n");
  const y = b.split("\n");
  const n = x.length;
  const m = y.length;
  if (n * m > 4_000_000) {
    return [...x.map((text) => ({ kind: "del" as const, text })), ...y.map((text) => ({ kind: "add" as const, text }))];
  }
  // lcs[i][j]: LCS length of x[i..] and y[j..].
  const lcs: Uint32Array[] = [];
  for (let i = 0; i <= n; i++) lcs.push(new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ kind: "same", text: x[i] });
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      out.push({ kind: "del", text: x[i++] });
    } else {
      out.push({ kind: "add", text: y[j++] });
    }
  }
  while (i < n) out.push({ kind: "del", text: x[i++] });
  while (j < m) out.push({ kind: "add", text: y[j++] });
  return out;
}

// A prompt's content as text for diffing: chat messages one block each.
export function promptText(prompt: unknown): string {
  if (typeof prompt === "string") return prompt;
  if (Array.isArray(prompt)) {
    return prompt
      .map((m: Record<string, unknown>) =>
        m.type === "placeholder" ? `[placeholder: ${String(m.name)}]` : `[${String(m.role)}]\n${String(m.content)}`,
      )
      .join("\n\n");
  }
  return JSON.stringify(prompt, null, 2);
}

// The `{{variable}}` names of a text, in order of first use.
export function templateVariables(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g)) if (!out.includes(m[1])) out.push(m[1]);
  return out;
}
