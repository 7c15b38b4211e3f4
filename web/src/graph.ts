// The agent graph of a trace: one node per observation name and type (the
// steps of an agent run repeat under the same names), edges from a parent's
// node to its children's nodes, and a layered layout for an SVG drawing.
// Pure functions over the columnar observations, O(n) in observations.

import type { ObservationColumns } from "./api";

export interface GraphNode {
  key: string; // "TYPE name"; the trace itself is TRACE_KEY
  name: string;
  type: string; // observation type, or "TRACE"
  count: number; // observations in this node
  first: number; // index of its earliest observation (-1 for the trace)
  layer: number; // distance from the trace node
  x: number; // layout position of the box's top-left corner
  y: number;
}

export interface GraphEdge {
  from: number; // node indexes
  to: number;
  count: number; // parent→child observation pairs behind the edge
}

export interface AgentGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  // The node of each observation.
  nodeOf: Int32Array;
  // True when there were too many distinct names and nodes stand for types.
  byType: boolean;
  width: number;
  height: number;
}

export const TRACE_KEY = "__trace__";
export const NODE_W = 168;
export const NODE_H = 44;
const GAP_X = 28;
const GAP_Y = 64;
const MARGIN = 16;
const LOOP_ROOM = 48;

// Above this many distinct names the graph groups by type only: a graph of
// thousands of boxes says nothing.
export const MAX_NAMED_NODES = 120;

export function buildAgentGraph(o: ObservationColumns, traceName: string | null, maxNamed = MAX_NAMED_NODES): AgentGraph {
  let byType = false;
  let keys = nodeKeys(o, false);
  if (new Set(keys).size > maxNamed) {
    byType = true;
    keys = nodeKeys(o, true);
  }
  const nodes: GraphNode[] = [{ key: TRACE_KEY, name: traceName ?? "trace", type: "TRACE", count: 1, first: -1, layer: 0, x: 0, y: 0 }];
  const index = new Map<string, number>([[TRACE_KEY, 0]]);
  const nodeOf = new Int32Array(o.count);
  // Nodes in order of their earliest observation.
  const order = Array.from({ length: o.count }, (_, i) => i).sort((a, b) => o.start[a] - o.start[b] || a - b);
  for (const i of order) {
    let k = index.get(keys[i]);
    if (k === undefined) {
      k = nodes.length;
      index.set(keys[i], k);
      nodes.push({ key: keys[i], name: byType ? typeName(o.type[i]) : o.name[i] ?? "(no name)", type: o.type[i], count: 0, first: i, layer: -1, x: 0, y: 0 });
    }
    nodes[k].count++;
    nodeOf[i] = k;
  }
  const edgeIndex = new Map<string, number>();
  const edges: GraphEdge[] = [];
  for (let i = 0; i < o.count; i++) {
    const p = o.parent[i];
    const from = p >= 0 && p < o.count && p !== i ? nodeOf[p] : 0;
    const to = nodeOf[i];
    const id = `${from}>${to}`;
    const e = edgeIndex.get(id);
    if (e === undefined) {
      edgeIndex.set(id, edges.length);
      edges.push({ from, to, count: 1 });
    } else edges[e].count++;
  }
  const { width, height } = layout(nodes, edges);
  return { nodes, edges, nodeOf, byType, width, height };
}

function nodeKeys(o: ObservationColumns, byType: boolean): string[] {
  const keys: string[] = new Array(o.count);
  for (let i = 0; i < o.count; i++) keys[i] = byType ? o.type[i] : `${o.type[i]} ${o.name[i] ?? ""}`;
  return keys;
}

function typeName(type: string): string {
  return type.charAt(0) + type.slice(1).toLowerCase() + "s";
}

// Layers by breadth-first distance from the trace node (a node reached only
// through a cycle goes below the deepest layer); within a layer, nodes keep
// the order of their first observation. Layers run top to bottom.
function layout(nodes: GraphNode[], edges: GraphEdge[]): { width: number; height: number } {
  const out: number[][] = nodes.map(() => []);
  for (const e of edges) if (e.from !== e.to) out[e.from].push(e.to);
  nodes[0].layer = 0;
  const queue = [0];
  for (let q = 0; q < queue.length; q++) {
    const n = queue[q];
    for (const m of out[n]) {
      if (nodes[m].layer !== -1) continue;
      nodes[m].layer = nodes[n].layer + 1;
      queue.push(m);
    }
  }
  let deepest = 0;
  for (const n of nodes) deepest = Math.max(deepest, n.layer);
  for (const n of nodes) if (n.layer === -1) n.layer = deepest + 1;
  const layers: number[][] = [];
  nodes.forEach((n, i) => {
    if (!layers[n.layer]) layers[n.layer] = [];
    layers[n.layer].push(i);
  });
  let widest = 0;
  for (const l of layers) if (l) widest = Math.max(widest, l.length);
  const inner = widest * NODE_W + (widest - 1) * GAP_X;
  // Room on the right for the loops of upward edges.
  const width = MARGIN * 2 + inner + LOOP_ROOM;
  layers.forEach((l, depth) => {
    if (!l) return;
    const rowWidth = l.length * NODE_W + (l.length - 1) * GAP_X;
    const left = MARGIN + (inner - rowWidth) / 2;
    l.forEach((n, k) => {
      nodes[n].x = left + k * (NODE_W + GAP_X);
      nodes[n].y = MARGIN + depth * (NODE_H + GAP_Y);
    });
  });
  // Room below the last layer for loops and arcs under its boxes.
  const height = MARGIN * 2 + layers.length * NODE_H + (layers.length - 1) * GAP_Y + 30;
  return { width, height };
}

// How an edge is drawn: an SVG path and where its count goes. Down to a
// deeper layer: from the parent's bottom to the child's top. Within a layer:
// an arc over the boxes when it runs rightwards, under them when it runs
// leftwards, so that the two directions stay apart. Up to a shallower layer:
// around the right side. A node that is its own parent's node: a small loop
// under its left end, clear of the other edges' ends (centre, 30 %, 70 %).
export function edgeGeometry(a: GraphNode, b: GraphNode): { d: string; labelX: number; labelY: number } {
  if (a === b) {
    const x1 = a.x + 36, x2 = a.x + 12, y = a.y + NODE_H;
    return { d: `M ${x1} ${y} C ${x1} ${y + 24}, ${x2} ${y + 24}, ${x2} ${y}`, labelX: x2 - 4, labelY: y + 32 };
  }
  if (b.layer > a.layer) {
    const x1 = a.x + NODE_W / 2, y1 = a.y + NODE_H;
    const x2 = b.x + NODE_W / 2, y2 = b.y;
    const my = (y1 + y2) / 2;
    return { d: `M ${x1} ${y1} C ${x1} ${my}, ${x2} ${my}, ${x2} ${y2}`, labelX: (x1 + x2) / 2 + 6, labelY: my + 4 };
  }
  if (b.layer === a.layer) {
    const rightwards = b.x > a.x;
    const x1 = a.x + NODE_W * (rightwards ? 0.7 : 0.3), x2 = b.x + NODE_W * (rightwards ? 0.3 : 0.7);
    const y = rightwards ? a.y : a.y + NODE_H;
    const bend = rightwards ? -30 : 30;
    return {
      d: `M ${x1} ${y} C ${x1} ${y + bend}, ${x2} ${y + bend}, ${x2} ${y}`,
      labelX: (x1 + x2) / 2 - 8,
      labelY: y + bend * 0.75 + (rightwards ? -2 : 10),
    };
  }
  const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2;
  const x2 = b.x + NODE_W, y2 = b.y + NODE_H / 2;
  const bulge = Math.max(x1, x2) + 40;
  return { d: `M ${x1} ${y1} C ${bulge} ${y1}, ${bulge} ${y2}, ${x2} ${y2}`, labelX: bulge - 6, labelY: (y1 + y2) / 2 + 4 };
}
