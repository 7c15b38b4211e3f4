import { describe, expect, it } from "vitest";
import type { ObservationColumns } from "./api";
import { ancestors, buildTree, collapseBelow, flatten } from "./tree";

function cols(parent: number[], start: number[]): ObservationColumns {
  const n = parent.length;
  const nulls = () => new Array(n).fill(null);
  return {
    count: n,
    id: parent.map((_, i) => `o${i}`),
    parent,
    type: new Array(n).fill("SPAN"),
    name: nulls(),
    start,
    end: start.map((s) => s + 10),
    completionStart: nulls(),
    level: new Array(n).fill("DEFAULT"),
    model: nulls(),
    usage: nulls(),
    cost: parent.map(() => 1),
    statusMessage: nulls(),
  };
}

describe("observation tree", () => {
  it("orders children by start time and flattens depth-first", () => {
    // 0 is the root; 2 starts before 1; 3 is a child of 1.
    const o = cols([-1, 0, 0, 1], [0, 5, 2, 6]);
    const t = buildTree(o);
    expect(Array.from(flatten(t, new Set()))).toEqual([0, 2, 1, 3]);
    expect(Array.from(t.depth)).toEqual([0, 1, 1, 2]);
    expect(t.subtreeCost[0]).toBe(4);
    expect(Array.from(flatten(t, new Set([1])))).toEqual([0, 2, 1]);
    expect(ancestors(o, 3)).toEqual([1, 0]);
    expect(collapseBelow(t, 2)).toEqual(new Set([1]));
  });

  it("survives parent cycles and 10,000 observations deep", () => {
    const cyc = buildTree(cols([1, 0], [0, 1]));
    expect(flatten(cyc, new Set()).length).toBe(2);
    const n = 10000;
    const chain = cols(
      Array.from({ length: n }, (_, i) => i - 1),
      Array.from({ length: n }, (_, i) => i),
    );
    const t = buildTree(chain);
    expect(t.depth[n - 1]).toBe(n - 1);
    expect(flatten(t, new Set()).length).toBe(n);
  });
});
