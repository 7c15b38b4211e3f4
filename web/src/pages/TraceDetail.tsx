import { useEffect, useMemo, useState } from "preact/hooks";
import { get, type ObservationFull, type Score, type TraceDetail } from "../api";
import type { Ctx } from "../app";
import { AgentGraph } from "../components/AgentGraph";
import { IOView } from "../components/IOView";
import { JsonView } from "../components/JsonView";
import { VirtualList } from "../components/VirtualList";
import { fmtCost, fmtDuration, fmtNumber, fmtTime, typeLabel } from "../format";
import { useLoad } from "../hooks";
import { linkClick, setQuery, useLocation } from "../router";
import { ancestors, buildTree, flatten, collapseBelow, type Tree } from "../tree";
import { buildAgentGraph } from "../graph";

type View = "tree" | "timeline" | "graph";

const ROW = 28;

export function TraceDetailPage({ ctx, traceId }: { ctx: Ctx; traceId: string }) {
  const pid = ctx.project.id;
  const t0 = useMemo(() => performance.now(), [traceId]);
  const res = useLoad(() => get<TraceDetail>(`/projects/${pid}/traces/${encodeURIComponent(traceId)}`), `${pid}|${traceId}`);
  if (res.error) return <div class="page"><div class="error" role="alert">{res.error}</div></div>;
  if (!res.data) return <div class="page"><div class="muted">Loading trace…</div></div>;
  return <TraceView ctx={ctx} d={res.data} startedAt={t0} />;
}

function TraceView({ ctx, d, startedAt }: { ctx: Ctx; d: TraceDetail; startedAt: number }) {
  const loc = useLocation();
  const pid = ctx.project.id;
  const o = d.observations;
  const tree = useMemo(() => buildTree(o), [d]);
  const [collapsed, setCollapsed] = useState<Set<number>>(() => new Set());
  const qv = loc.query.get("view");
  const view: View = qv === "timeline" || qv === "graph" ? qv : "tree";
  const setView = (v: View) => setQuery({ view: v === "tree" ? null : v }, true);
  // Built on first use only: most visits never open the graph.
  const graph = useMemo(() => (view === "graph" ? buildAgentGraph(o, d.trace.name) : null), [d, view === "graph"]);
  const rows = useMemo(() => flatten(tree, collapsed), [tree, collapsed]);
  const selectedId = loc.query.get("observation");
  const selected = useMemo(() => (selectedId ? o.id.indexOf(selectedId) : -1), [selectedId, d]);
  const selectedRow = useMemo(() => (selected >= 0 ? rows.indexOf(selected) : -1), [rows, selected]);
  const totals = useMemo(() => {
    let input = 0, output = 0, total = 0;
    for (const u of o.usage) if (u) { input += u[0]; output += u[1]; total += u[2]; }
    return { input, output, total };
  }, [d]);
  // Measured once per trace: navigation to a rendered tree.
  useMemo(() => {
    requestAnimationFrame(() => {
      (window as unknown as { __loupeTraceRenderMs?: number }).__loupeTraceRenderMs = performance.now() - startedAt;
    });
  }, [d]);

  const select = (i: number) => {
    if (i >= 0) {
      const anc = ancestors(o, i).filter((a) => collapsed.has(a));
      if (anc.length) setCollapsed(new Set([...collapsed].filter((c) => !anc.includes(c))));
    }
    setQuery({ observation: i >= 0 ? o.id[i] : null }, true);
  };
  const toggle = (i: number) => {
    const next = new Set(collapsed);
    if (next.has(i)) next.delete(i);
    else next.add(i);
    setCollapsed(next);
  };
  // Arrow keys (or j/k) move the selection; left/right collapse and expand.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const tag = (e.target as HTMLElement).tagName;
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || e.metaKey || e.ctrlKey) return;
      const k = selectedRow;
      if (e.key === "ArrowDown" || e.key === "j") {
        if (k + 1 < rows.length) select(rows[k + 1]);
      } else if (e.key === "ArrowUp" || e.key === "k") {
        if (k > 0) select(rows[k - 1]);
        else select(-1);
      } else if ((e.key === "ArrowLeft" || e.key === "ArrowRight") && selected >= 0 && tree.children[selected].length) {
        const isCollapsed = collapsed.has(selected);
        if ((e.key === "ArrowLeft") !== isCollapsed) toggle(selected);
      } else {
        return;
      }
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });
  const t = d.trace;
  const span = Math.max(1, tree.maxEnd - tree.minStart);
  const renderRow = (k: number) => {
    const i = rows[k];
    const depth = tree.depth[i];
    const hasKids = tree.children[i].length > 0;
    const dur = o.end[i] !== null ? ((o.end[i] as number) - o.start[i]) / 1000 : null;
    const label = (
      <div class="tree-label" style={{ paddingLeft: 6 + depth * 14 }}>
        {hasKids ? (
          <button class="twisty" data-testid="tree-toggle" onClick={(e) => { e.stopPropagation(); toggle(i); }}>
            {collapsed.has(i) ? "▸" : "▾"}
          </button>
        ) : <span class="twisty-space" />}
        <span class={`type type-${o.type[i].toLowerCase()}`}>{typeLabel(o.type[i])}</span>
        <span class={"oname" + (o.level[i] === "ERROR" ? " lvl-error" : o.level[i] === "WARNING" ? " lvl-warn" : "")}>{o.name[i] ?? o.id[i]}</span>
      </div>
    );
    if (view === "timeline") {
      const left = ((o.start[i] - tree.minStart) / span) * 100;
      const width = Math.max(0.3, (((o.end[i] ?? o.start[i]) - o.start[i]) / span) * 100);
      return (
        <div class={"trow" + (i === selected ? " sel" : "")} onClick={() => select(i)} data-obs-id={o.id[i]}>
          <div class="tl-label">{label}</div>
          <div class="tl-track">
            <div class={`tl-bar type-${o.type[i].toLowerCase()}`} style={{ left: `${left}%`, width: `${width}%` }} />
            <span class="tl-text" style={{ left: `${Math.min(left + width, 88)}%` }}>{fmtDuration(dur)}</span>
          </div>
        </div>
      );
    }
    return (
      <div class={"trow" + (i === selected ? " sel" : "")} onClick={() => select(i)} data-obs-id={o.id[i]}>
        {label}
        <span class="tmeta">
          {o.model[i] && <span class="model">{o.model[i]}</span>}
          <span>{fmtDuration(dur)}</span>
          {o.usage[i] && <span>{fmtNumber(o.usage[i]![2])} tok</span>}
          {o.cost[i] ? <span>{fmtCost(o.cost[i])}</span> : null}
        </span>
      </div>
    );
  };

  return (
    <div class="page trace-page">
      <div class="crumbs">
        <a href={`/project/${pid}/traces`} onClick={linkClick}>Traces</a> / <span>{t.name ?? t.id}</span>
      </div>
      <div class="trace-head">
        <h2 data-testid="trace-title">{t.name ?? "(no name)"}</h2>
        <div class="chips">
          <span class="chip" title="Trace ID"><code>{t.id}</code></span>
          <span class="chip">{fmtTime(t.timestamp)}</span>
          <span class="chip">Latency {fmtDuration(t.latency)}</span>
          <span class="chip" data-testid="trace-cost">Cost {fmtCost(t.totalCost)}</span>
          <span class="chip">{fmtNumber(totals.input)} → {fmtNumber(totals.output)} (Σ {fmtNumber(totals.total)}) tokens</span>
          <span class="chip" data-testid="obs-count">{fmtNumber(o.count)} observations</span>
          {t.userId && <a class="chip" href={`/project/${pid}/users/${encodeURIComponent(t.userId)}`} onClick={linkClick}>User {t.userId}</a>}
          {t.sessionId && <a class="chip" href={`/project/${pid}/sessions/${encodeURIComponent(t.sessionId)}`} onClick={linkClick} data-testid="session-link">Session {t.sessionId}</a>}
          {t.environment !== "default" && <span class="chip">env {t.environment}</span>}
          {t.tags.map((x) => <span class="tag" key={x}>{x}</span>)}
        </div>
      </div>
      <div class="split">
        <div class="pane left">
          <div class="pane-bar">
            <div class="seg">
              <button class={view === "tree" ? "on" : ""} onClick={() => setView("tree")} data-testid="view-tree">Tree</button>
              <button class={view === "timeline" ? "on" : ""} onClick={() => setView("timeline")} data-testid="view-timeline">Timeline</button>
              <button class={view === "graph" ? "on" : ""} onClick={() => setView("graph")} data-testid="view-graph">Graph</button>
            </div>
            {view !== "graph" && (
              <>
                <button onClick={() => setCollapsed(new Set())} data-testid="expand-all">Expand all</button>
                <button onClick={() => setCollapsed(collapseBelow(tree, 1))} data-testid="collapse-all">Collapse all</button>
              </>
            )}
          </div>
          {graph ? (
            <AgentGraph graph={graph} selectedNode={selected >= 0 ? graph.nodeOf[selected] : 0} onSelect={select} />
          ) : (
            <>
              <div class={"trow root" + (selected < 0 ? " sel" : "")} onClick={() => select(-1)} data-testid="trace-root">
                <div class="tree-label"><span class="type type-trace">TRC</span><span class="oname">{t.name ?? t.id}</span></div>
                <span class="tmeta"><span>{fmtDuration(t.latency)}</span><span>{fmtCost(t.totalCost)}</span></span>
              </div>
              <VirtualList count={rows.length} rowHeight={ROW} height="calc(100vh - 250px)" renderRow={renderRow}
                scrollToIndex={selectedRow} testId="observation-tree" className={view} />
            </>
          )}
        </div>
        <div class="pane right" data-testid="detail-pane">
          {selected >= 0 ? (
            <ObservationPanel pid={pid} id={o.id[selected]} tree={tree} index={selected} scores={d.scores.filter((s) => s.observationId === o.id[selected])} />
          ) : (
            <TracePanel d={d} />
          )}
        </div>
      </div>
    </div>
  );
}

function Scores({ scores }: { scores: Score[] }) {
  if (!scores.length) return null;
  return (
    <section>
      <h4>Scores</h4>
      <table class="kv" data-testid="scores">
        <tbody>
          {scores.map((s) => (
            <tr key={s.id}>
              <th>{s.name}</th>
              <td>{s.value !== null && s.dataType === "NUMERIC" ? fmtNumber(s.value) : (s.stringValue ?? String(s.value))}</td>
              <td class="muted">{s.source}{s.comment ? ` · ${s.comment}` : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function TracePanel({ d }: { d: TraceDetail }) {
  const t = d.trace;
  return (
    <div class="detail">
      <h3>Trace</h3>
      <table class="kv">
        <tbody>
          <tr><th>Release</th><td>{t.release ?? "–"}</td></tr>
          <tr><th>Version</th><td>{t.version ?? "–"}</td></tr>
          <tr><th>Environment</th><td>{t.environment}</td></tr>
        </tbody>
      </table>
      <Scores scores={d.scores.filter((s) => !s.observationId)} />
      <IOView label="Input" value={t.input} />
      <IOView label="Output" value={t.output} />
      {t.metadata && Object.keys(t.metadata).length > 0 && (
        <section><h4>Metadata</h4><JsonView value={t.metadata} /></section>
      )}
    </div>
  );
}

function ObservationPanel({ pid, id, tree, index, scores }: { pid: string; id: string; tree: Tree; index: number; scores: Score[] }) {
  const res = useLoad(() => get<ObservationFull>(`/projects/${pid}/observations/${encodeURIComponent(id)}`), `${pid}|${id}`);
  if (res.error) return <div class="error" role="alert">{res.error}</div>;
  const ob = res.data;
  if (!ob) return <div class="muted">Loading…</div>;
  const dur = ob.endTime ? (Date.parse(ob.endTime) - Date.parse(ob.startTime)) / 1000 : null;
  const ttft = ob.completionStartTime ? (Date.parse(ob.completionStartTime) - Date.parse(ob.startTime)) / 1000 : null;
  const usage = Object.entries(ob.usageDetails ?? {});
  const cost = Object.entries(ob.costDetails ?? {});
  return (
    <div class="detail" data-testid="observation-detail">
      <h3><span class={`type type-${ob.type.toLowerCase()}`}>{ob.type}</span> {ob.name ?? ob.id}</h3>
      <table class="kv">
        <tbody>
          <tr><th>Start</th><td>{fmtTime(ob.startTime)}</td></tr>
          <tr><th>Latency</th><td>{fmtDuration(dur)}{ttft !== null ? ` (first token ${fmtDuration(ttft)})` : ""}</td></tr>
          {ob.model && <tr><th>Model</th><td>{ob.model}</td></tr>}
          {ob.modelParameters && Object.keys(ob.modelParameters).length > 0 && (
            <tr><th>Parameters</th><td>{Object.entries(ob.modelParameters).map(([k, v]) => <span class="tag" key={k}>{k}: {String(v)}</span>)}</td></tr>
          )}
          {usage.length > 0 && <tr><th>Usage</th><td data-testid="usage">{usage.map(([k, v]) => <span class="tag" key={k}>{k}: {fmtNumber(v)}</span>)}</td></tr>}
          {cost.length > 0 && <tr><th>Cost</th><td>{cost.map(([k, v]) => <span class="tag" key={k}>{k}: {fmtCost(v)}</span>)}</td></tr>}
          {tree.children[index].length > 0 && <tr><th>Subtree cost</th><td>{fmtCost(tree.subtreeCost[index])}</td></tr>}
          <tr><th>Level</th><td class={ob.level === "ERROR" ? "lvl-error" : ""}>{ob.level}{ob.statusMessage ? ` · ${ob.statusMessage}` : ""}</td></tr>
          {ob.promptName && (
            <tr><th>Prompt</th><td>
              <a data-testid="linked-prompt" onClick={linkClick}
                href={`/project/${pid}/prompts/${encodeURIComponent(ob.promptName)}${ob.promptVersion ? `?version=${ob.promptVersion}` : ""}`}>
                {ob.promptName}{ob.promptVersion ? ` v${ob.promptVersion}` : ""}
              </a>
            </td></tr>
          )}
        </tbody>
      </table>
      <Scores scores={scores} />
      <IOView label="Input" value={ob.input} />
      <IOView label="Output" value={ob.output} />
      {ob.metadata && Object.keys(ob.metadata).length > 0 && (
        <section><h4>Metadata</h4><JsonView value={ob.metadata} /></section>
      )}
    </div>
  );
}
