import { describe, expect, it } from "vitest";
import type { ObservationColumns } from "./api";
import { buildAgentGraph, edgeGeometry, TRACE_KEY } from "./graph";

function cols(rows: [parent: number, type: string, name: string][]): ObservationColumns {
  const n = rows.length;
  const nulls = () => new Array(n).fill(null);
  return {
    count: n,
    id: rows.map((_, i) => `o${i}`),
    parent: rows.map((r) => r[0]),
    type: rows.map((r) => r[1]),
    name: rows.map((r) => r[2]),
    start: rows.map((_, i) => i * 10),
    end: rows.map((_, i) => i * 10 + 5),
    completionStart: nulls(),
    level: new Array(n).fill("DEFAULT"),
    model: nulls(),
    usage: nulls(),
    cost: nulls(),
    statusMessage: nulls(),
  };
}

describe("agent graph", () => {
  // An agent span that calls the model and a tool twice.
  const o = cols([
    [-1, "SPAN", "agent"],
    [0, "GENERATION", "llm"],
    [0, "SPAN", "tool"],
    [0, "GENERATION", "llm"],
    [0, "SPAN", "tool"],
    [4, "SPAN", "agent"], // a sub-agent: the agent node is its own child
  ]);

  it("has one node per name and type, with counts", () => {
    const g = buildAgentGraph(o, "run");
    expect(g.nodes.map((n) => [n.key, n.count])).toEqual([
      [TRACE_KEY, 1],
      ["SPAN agent", 2],
      ["GENERATION llm", 2],
      ["SPAN tool", 2],
    ]);
    expect(g.nodes[0].name).toBe("run");
    expect(Array.from(g.nodeOf)).toEqual([1, 2, 3, 2, 3, 1]);
    expect(g.nodes[1].first).toBe(0);
  });

  it("has one edge per parent and child node, with counts", () => {
    const g = buildAgentGraph(o, "run");
    const edges = g.edges.map((e) => `${g.nodes[e.from].name}>${g.nodes[e.to].name}:${e.count}`);
    expect(edges.sort()).toEqual(["agent>llm:2", "agent>tool:2", "run>agent:1", "tool>agent:1"]);
  });

  it("lays out layers top to bottom by distance from the trace", () => {
    const g = buildAgentGraph(o, "run");
    expect(g.nodes.map((n) => n.layer)).toEqual([0, 1, 2, 2]);
    const [trace, agent, llm, tool] = g.nodes;
    expect(trace.y).toBeLessThan(agent.y);
    expect(llm.y).toBe(tool.y);
    expect(llm.x).toBeLessThan(tool.x);
    // Boxes stay inside the drawing.
    for (const n of g.nodes) {
      expect(n.x).toBeGreaterThanOrEqual(0);
      expect(n.y).toBeGreaterThanOrEqual(0);
      expect(n.x).toBeLessThan(g.width);
      expect(n.y).toBeLessThan(g.height);
    }
    // Downward edges run from the parent's bottom to the child's top.
    const down = edgeGeometry(agent, llm).d.split(/[ ,]+/).map(Number).filter((x) => !isNaN(x));
    expect([down[0], down[1]]).toEqual([agent.x + 84, agent.y + 44]);
    expect(down.slice(-2)).toEqual([llm.x + 84, llm.y]);
    // Within a layer the two directions take different sides of the boxes.
    const right = edgeGeometry(llm, tool), left = edgeGeometry(tool, llm);
    expect(right.labelY).toBeLessThan(llm.y);
    expect(left.labelY).toBeGreaterThan(llm.y + 44);
    // Upward edges and loops stay inside the drawing.
    for (const e of [edgeGeometry(tool, agent), edgeGeometry(agent, agent), right, left]) {
      const xs = e.d.split(/[ ,]+/).map(Number).filter((x) => !isNaN(x));
      for (const v of xs) expect(v).toBeGreaterThanOrEqual(0);
      expect(e.labelX).toBeLessThan(g.width);
      expect(e.labelY).toBeLessThan(g.height);
    }
  });

  it("groups by type when there are too many names", () => {
    const many = cols(Array.from({ length: 50 }, (_, i) => [i === 0 ? -1 : 0, i % 2 ? "GENERATION" : "SPAN", `step-${i}`] as [number, string, string]));
    const g = buildAgentGraph(many, null, 10);
    expect(g.byType).toBe(true);
    expect(g.nodes.map((n) => n.name)).toEqual(["trace", "Spans", "Generations"]);
    expect(g.nodes[1].count + g.nodes[2].count).toBe(50);
  });
});
