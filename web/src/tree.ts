// The observation tree of a trace, built in O(n) from the columnar response
// (parents are indexes), flattened for a virtualized list. Langfuse's old
// client spent seconds here on big traces by building the tree in O(n²).

import type { ObservationColumns } from "./api";

export interface Tree {
  n: number;
  children: Int32Array[]; // child indexes of each node, by start time
  roots: Int32Array;
  depth: Int32Array;
  // Sum of costs and tokens of each node's subtree.
  subtreeCost: Float64Array;
  minStart: number;
  maxEnd: number;
}

export function buildTree(o: ObservationColumns): Tree {
  const n = o.count;
  const counts = new Int32Array(n);
  let rootCount = 0;
  for (let i = 0; i < n; i++) {
    const p = o.parent[i];
    if (p >= 0 && p < n && p !== i) counts[p]++;
    else rootCount++;
  }
  const children: Int32Array[] = new Array(n);
  for (let i = 0; i < n; i++) children[i] = new Int32Array(counts[i]);
  const fill = new Int32Array(n);
  const roots = new Int32Array(rootCount);
  let r = 0;
  for (let i = 0; i < n; i++) {
    const p = o.parent[i];
    if (p >= 0 && p < n && p !== i) children[p][fill[p]++] = i;
    else roots[r++] = i;
  }
  const byStart = (a: number, b: number) => o.start[a] - o.start[b] || a - b;
  roots.sort(byStart);
  for (const c of children) if (c.length > 1) c.sort(byStart);

  // Depths and subtree sums by an explicit stack (deep traces must not
  // overflow the call stack). A parent cycle leaves nodes unvisited: they
  // are treated as roots.
  const depth = new Int32Array(n).fill(-1);
  const subtreeCost = new Float64Array(n);
  const order: number[] = [];
  const stack: number[] = [];
  const visit = (root: number) => {
    depth[root] = 0;
    stack.push(root);
    while (stack.length) {
      const i = stack.pop()!;
      order.push(i);
      for (const c of children[i]) {
        if (depth[c] !== -1) continue;
        depth[c] = depth[i] + 1;
        stack.push(c);
      }
    }
  };
  for (const root of roots) visit(root);
  let extraRoots: number[] = [];
  for (let i = 0; i < n; i++) {
    if (depth[i] === -1) {
      extraRoots.push(i);
      visit(i);
    }
  }
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k];
    let s = o.cost[i] ?? 0;
    for (const c of children[i]) s += subtreeCost[c];
    subtreeCost[i] = s;
  }
  let minStart = Infinity;
  let maxEnd = -Infinity;
  for (let i = 0; i < n; i++) {
    minStart = Math.min(minStart, o.start[i]);
    maxEnd = Math.max(maxEnd, o.end[i] ?? o.start[i]);
  }
  const allRoots = extraRoots.length ? Int32Array.from([...roots, ...extraRoots]) : roots;
  return { n, children, roots: allRoots, depth, subtreeCost, minStart, maxEnd };
}

// The visible rows: a depth-first walk that skips collapsed subtrees.
export function flatten(t: Tree, collapsed: Set<number>): Int32Array {
  const out = new Int32Array(t.n);
  let k = 0;
  const stack: number[] = [];
  for (let r = t.roots.length - 1; r >= 0; r--) stack.push(t.roots[r]);
  const seen = new Uint8Array(t.n);
  while (stack.length) {
    const i = stack.pop()!;
    if (seen[i]) continue;
    seen[i] = 1;
    out[k++] = i;
    if (collapsed.has(i)) continue;
    const c = t.children[i];
    for (let j = c.length - 1; j >= 0; j--) stack.push(c[j]);
  }
  return out.subarray(0, k);
}

// Nodes to collapse so that only the first `levels` levels show.
export function collapseBelow(t: Tree, levels: number): Set<number> {
  const s = new Set<number>();
  for (let i = 0; i < t.n; i++) if (t.depth[i] >= levels - 1 && t.children[i].length) s.add(i);
  return s;
}

// The chain of ancestors of `i` (to expand when an observation is selected).
export function ancestors(o: ObservationColumns, i: number): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  let p = o.parent[i];
  while (p >= 0 && !seen.has(p)) {
    seen.add(p);
    out.push(p);
    p = o.parent[p];
  }
  return out;
}
