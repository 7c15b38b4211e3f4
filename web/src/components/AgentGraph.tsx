// The agent graph of a trace drawn in SVG (see graph.ts): boxes per step
// name and type with their observation counts, arrows from parent steps to
// child steps. Clicking a box selects its first observation.

import { truncate, typeLabel } from "../format";
import { NODE_H, NODE_W, edgeGeometry, type AgentGraph as Graph } from "../graph";

export function AgentGraph({ graph, selectedNode, onSelect }: {
  graph: Graph;
  selectedNode: number; // 0 = the trace
  onSelect: (observation: number) => void;
}) {
  const { nodes, edges } = graph;
  return (
    <div class="graph-wrap" data-testid="agent-graph">
      {graph.byType && (
        <div class="muted small pad">Too many distinct step names to draw one box each: the steps are grouped by type.</div>
      )}
      <svg width={graph.width} height={graph.height} viewBox={`0 0 ${graph.width} ${graph.height}`} role="img" aria-label="Agent graph">
        <defs>
          <marker id="graph-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="graph-arrow" />
          </marker>
        </defs>
        {edges.map((e) => {
          const a = nodes[e.from], b = nodes[e.to];
          const g = edgeGeometry(a, b);
          return (
            <g key={`${e.from}>${e.to}`} class="graph-edge" data-edge={`${a.name}>${b.name}`}>
              <path d={g.d} marker-end="url(#graph-arrow)" />
              {e.count > 1 && <text x={g.labelX} y={g.labelY} class="graph-edge-count">×{e.count}</text>}
            </g>
          );
        })}
        {nodes.map((n, k) => (
          <g key={n.key} class={"graph-node" + (k === selectedNode ? " sel" : "")} data-node={n.name}
            transform={`translate(${n.x} ${n.y})`} onClick={() => onSelect(n.first)}>
            <title>{`${n.name} (${n.type.toLowerCase()}), ${n.count} observation${n.count === 1 ? "" : "s"}`}</title>
            <rect width={NODE_W} height={NODE_H} rx="7" class={`graph-box type-${n.type.toLowerCase()}`} />
            <text x="10" y="18" class="graph-name">{truncate(n.name, 20)}</text>
            <text x="10" y="34" class="graph-sub">{typeLabel(n.type)}{n.type !== "TRACE" ? ` · ×${n.count}` : ""}</text>
          </g>
        ))}
      </svg>
    </div>
  );
}
