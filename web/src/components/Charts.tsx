// Dependency-free SVG charts for the dashboard: a time series (lines or
// stacked-free bars per series) and horizontal bars.

import { fmtNumber } from "../format";

const COLORS = ["#4f6bed", "#e0823d", "#2fa37b", "#c0508f", "#8a6fd1", "#d6b33a", "#3aa7c9", "#888"];

export interface Series {
  name: string;
  points: { t: number; v: number }[];
}

export function TimeSeriesChart({ series, height = 180, format = fmtNumber }: {
  series: Series[];
  height?: number;
  format?: (v: number) => string;
}) {
  const W = 560;
  const H = height;
  const pad = { l: 48, r: 8, t: 8, b: 22 };
  const all = series.flatMap((s) => s.points);
  if (!all.length) return <div class="empty">No data in this range.</div>;
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t));
  const vmax = Math.max(...all.map((p) => p.v), 0) || 1;
  const x = (t: number) => pad.l + (t1 === t0 ? (W - pad.l - pad.r) / 2 : ((t - t0) / (t1 - t0)) * (W - pad.l - pad.r));
  const y = (v: number) => pad.t + (1 - v / vmax) * (H - pad.t - pad.b);
  const ticks = [0, 0.5, 1].map((f) => f * vmax);
  const fmtT = (t: number) => {
    const d = new Date(t);
    const hm = `${d.getHours()}:${String(d.getMinutes()).padStart(2, "0")}`;
    if (t1 - t0 > 3 * 86400e3) return `${d.getMonth() + 1}/${d.getDate()}`;
    return t1 - t0 > 86400e3 ? `${d.getMonth() + 1}/${d.getDate()} ${hm}` : hm;
  };
  const xticks = [0, 0.25, 0.5, 0.75, 1].map((f) => t0 + f * (t1 - t0));
  return (
    <div class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img">
        {ticks.map((v) => (
          <g key={v}>
            <line x1={pad.l} x2={W - pad.r} y1={y(v)} y2={y(v)} class="grid" />
            <text x={pad.l - 4} y={y(v) + 4} class="axis" text-anchor="end">{format(v)}</text>
          </g>
        ))}
        {xticks.map((t, i) => (
          <text key={i} x={x(t)} y={H - 6} class="axis" text-anchor={i === 0 ? "start" : i === 4 ? "end" : "middle"}>{fmtT(t)}</text>
        ))}
        {series.map((s, i) => {
          const pts = [...s.points].sort((a, b) => a.t - b.t);
          const color = COLORS[i % COLORS.length];
          if (pts.length === 1) return <circle key={s.name} cx={x(pts[0].t)} cy={y(pts[0].v)} r={3} fill={color} />;
          return (
            <g key={s.name}>
              <polyline fill="none" stroke={color} stroke-width={2} points={pts.map((p) => `${x(p.t)},${y(p.v)}`).join(" ")} />
              {pts.length <= 60 && pts.map((p) => <circle key={p.t} cx={x(p.t)} cy={y(p.v)} r={2} fill={color} />)}
              {pts.length > 60 && pts.filter((p) => p.v > 0).length <= 60 &&
                pts.filter((p) => p.v > 0).map((p) => <circle key={p.t} cx={x(p.t)} cy={y(p.v)} r={2} fill={color} />)}
            </g>
          );
        })}
      </svg>
      {series.length > 1 && (
        <div class="legend">
          {series.map((s, i) => (
            <span key={s.name}><i style={{ background: COLORS[i % COLORS.length] }} />{s.name}</span>
          ))}
        </div>
      )}
    </div>
  );
}

export function BarChart({ rows, format = fmtNumber }: { rows: { label: string; value: number }[]; format?: (v: number) => string }) {
  if (!rows.length) return <div class="empty">No data in this range.</div>;
  const max = Math.max(...rows.map((r) => r.value)) || 1;
  return (
    <div class="bars">
      {rows.map((r, i) => (
        <div class="bar-row" key={r.label}>
          <span class="bar-label" title={r.label}>{r.label}</span>
          <span class="bar-track">
            <span class="bar" style={{ width: `${(r.value / max) * 100}%`, background: COLORS[i % COLORS.length] }} />
          </span>
          <span class="bar-value">{format(r.value)}</span>
        </div>
      ))}
    </div>
  );
}
