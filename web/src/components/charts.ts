// uPlot charts: a tensor's error against bits per weight, the Pareto curve with the chosen point,
// and the compare scatter (size against KLD or PPL). Text labels are drawn in a draw hook.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { CandidateTensor, CompareRow, ParetoPoint } from "../types";
import { formatBytes, formatNumber } from "../ui";

const MIB = 1024 * 1024;
const css = (name: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || "#888";

function width(container: HTMLElement): number {
  return Math.max(320, Math.min(900, container.clientWidth || 640));
}

function axes(xLabel: string, yLabel: string, yLog: boolean): uPlot.Axis[] {
  const stroke = css("--fg-muted");
  const grid = { stroke: css("--grid"), width: 1 };
  return [
    { label: xLabel, stroke, grid, ticks: grid },
    { label: yLabel, stroke, grid, ticks: grid, size: 70, values: (_u, vals) => vals.map((v) => (yLog ? formatNumber(v, 2) : formatNumber(v, 3))) },
  ];
}

// Keeps a chart as wide as its container.
function fit(chart: uPlot, container: HTMLElement): () => void {
  const observer = new ResizeObserver(() => chart.setSize({ width: width(container), height: chart.height }));
  observer.observe(container);
  return () => observer.disconnect();
}

export interface Chart { destroy: () => void }

// Error (log) against bpw for one tensor; the knee ringed, the chosen type filled.
export function candidateChart(container: HTMLElement, tensor: CandidateTensor, chosen: string | null): Chart {
  const points = tensor.points.filter((p) => p.error !== null && p.error > 0).sort((a, b) => a.bpw - b.bpw);
  const xs = points.map((p) => p.bpw);
  const err = points.map((p) => p.error as number);
  const knee = points.map((p) => (p.type === tensor.knee_type ? (p.error as number) : null));
  const pick = points.map((p) => (p.type === chosen ? (p.error as number) : null));
  const accent = css("--accent");
  const opts: uPlot.Options = {
    title: tensor.name, width: width(container), height: 300,
    scales: { x: { time: false }, y: { distr: 3 } },
    axes: axes("bits per weight", "error", true),
    series: [
      { label: "bpw" },
      { label: "error", stroke: accent, width: 2, points: { show: true, size: 6 }, value: (_u, v) => formatNumber(v) },
      { label: "knee", stroke: css("--warn"), width: 0, paths: () => null, points: { show: true, size: 14, width: 2, fill: "transparent", stroke: css("--warn") } },
      { label: "chosen", stroke: css("--ok"), width: 0, paths: () => null, points: { show: true, size: 10, fill: css("--ok"), stroke: css("--ok") } },
    ],
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.fillStyle = css("--fg-muted");
        ctx.font = `${11 * devicePixelRatio}px system-ui`;
        points.forEach((p, i) => {
          ctx.fillText(p.type + (p.measured ? "" : "*"), u.valToPos(xs[i], "x", true) + 6, u.valToPos(err[i], "y", true) - 6);
        });
        ctx.restore();
      }],
    },
  };
  const chart = new uPlot(opts, [xs, err, knee, pick] as uPlot.AlignedData, container);
  const unfit = fit(chart, container);
  return { destroy: () => { unfit(); chart.destroy(); } };
}

export interface ParetoChart extends Chart { mark: (index: number) => void }

// The least summed error for every size; `mark` moves the point of the current budget.
export function paretoChart(container: HTMLElement, points: ParetoPoint[], metric: string): ParetoChart {
  const xs = points.map((p) => (p.file_bytes ?? p.bytes) / MIB);
  const ys = points.map((p) => (p.error > 0 ? p.error : null));
  let marked = -1;
  const markSeries = () => points.map((p, i) => (i === marked && p.error > 0 ? p.error : null));
  const opts: uPlot.Options = {
    width: width(container), height: 260,
    scales: { x: { time: false }, y: { distr: 3 } },
    axes: axes("file size (MiB)", `summed ${metric}`, true),
    series: [
      { label: "MiB", value: (_u, v) => (v === null ? "–" : formatBytes(v * MIB)) },
      { label: "Pareto", stroke: css("--accent"), width: 2, value: (_u, v) => formatNumber(v) },
      { label: "budget", stroke: css("--ok"), paths: () => null, points: { show: true, size: 12, fill: css("--ok"), stroke: css("--ok") } },
    ],
  };
  const chart = new uPlot(opts, [xs, ys, markSeries()] as uPlot.AlignedData, container);
  const unfit = fit(chart, container);
  return {
    mark: (index: number) => { marked = index; chart.setData([xs, ys, markSeries()] as uPlot.AlignedData); },
    destroy: () => { unfit(); chart.destroy(); },
  };
}

// Size against KLD (log) or PPL; presets, strategies and other GGUFs as separate point series,
// each point labelled with its name and drawn with its ± error bar.
export function compareChart(container: HTMLElement, rows: CompareRow[], y: "kld" | "ppl", basePpl?: number): Chart {
  const sorted = [...rows].sort((a, b) => a.file_bytes - b.file_bytes);
  const xs = sorted.map((r) => r.file_bytes / MIB);
  const kinds = [...new Set(sorted.map((r) => r.kind))];
  const colours: Record<string, string> = { preset: css("--fg-muted"), strategy: css("--ok"), gguf: css("--warn") };
  const value = (r: CompareRow) => (y === "kld" ? r.kld.value : r.ppl.value);
  const spread = (r: CompareRow) => (y === "kld" ? r.kld.error : r.ppl.error);
  const series: uPlot.Series[] = [{ label: "MiB", value: (_u, v) => (v === null ? "–" : formatBytes(v * MIB)) }];
  const data: (number | null)[][] = [xs];
  for (const kind of kinds) {
    const colour = colours[kind] ?? css("--accent");
    series.push({ label: kind, stroke: colour, paths: () => null, points: { show: true, size: 9, fill: colour, stroke: colour }, value: (_u, v) => formatNumber(v) });
    data.push(sorted.map((r) => (r.kind === kind ? value(r) : null)));
  }
  if (y === "ppl" && basePpl !== undefined) {
    series.push({ label: "unquantized", stroke: css("--accent"), dash: [6, 4], width: 1, points: { show: false } });
    data.push(sorted.map(() => basePpl));
  }
  const opts: uPlot.Options = {
    width: width(container), height: 300,
    // A margin on both sides so the first and last points and their labels stay inside.
    scales: { x: { time: false, range: (_u, lo, hi) => { const pad = Math.max(0.1, (hi - lo) * 0.12); return [lo - pad, hi + pad]; } },
      y: y === "kld" ? { distr: 3 } : {} },
    axes: axes("file size (MiB)", y === "kld" ? "mean KLD" : "perplexity", y === "kld"),
    series,
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.beginPath();
        ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
        ctx.setLineDash([]);
        ctx.clip();  // error bars wider than the data's range stop at the plot's edge
        ctx.font = `${11 * devicePixelRatio}px system-ui`;
        ctx.fillStyle = css("--fg-muted");
        ctx.strokeStyle = css("--fg-muted");
        sorted.forEach((r, i) => {
          const v = value(r);
          if (!(v > 0)) return;
          const px = u.valToPos(xs[i], "x", true);
          const py = u.valToPos(v, "y", true);
          const e = spread(r);
          if (e > 0 && v - e > 0) {
            ctx.beginPath();
            ctx.moveTo(px, u.valToPos(v - e, "y", true));
            ctx.lineTo(px, u.valToPos(v + e, "y", true));
            ctx.stroke();
          }
          ctx.fillText(r.name, px + 7, py - 7);
        });
        ctx.restore();
      }],
    },
  };
  const chart = new uPlot(opts, data as uPlot.AlignedData, container);
  const unfit = fit(chart, container);
  return { destroy: () => { unfit(); chart.destroy(); } };
}
