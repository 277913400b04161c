// A self-contained SVG bar chart: throughput by scenario, Faultline next to
// each C reference. pages/s and msgs/s are not comparable, so each unit gets
// its own panel with its own axis (ticks and labels), and the ring's millions
// of messages never squash the fault rows' bars. Value printed on each bar.
import { si } from '../format.js';
import { REFERENCES, type BenchReport, type ReferenceName } from '../results.js';
import type { RepeatReport } from '../repeat.js';
import type { RestoreResult, RestoreSpread } from '../restore/results.js';

/** The fault scenarios' sides, and the restore group's ways that are neither (a prefetch, huge pages). */
export type ChartSide = 'faultline' | ReferenceName | 'prefetch' | 'hugePages';

/** The restore group's panel: time, not throughput (shorter is better). */
export const RESTORE_UNIT = 'restore: ms to touch the working set (shorter is better)';

export interface ChartRow {
  name: string;
  unit: 'pages/s' | 'msgs/s' | typeof RESTORE_UNIT;
  bars: { side: ChartSide; value: number }[];
}

export interface Chart {
  title: string;
  subtitle: string;
  rows: ChartRow[];
}

const BAR = 11;
const GAP = 2;
const ROW_PAD = 8;
const LABEL_W = 200;
const PLOT_W = 560;
const AXIS_H = 34; // panel title and tick labels above the bars
const LEGEND_W = 170; // one legend entry
const COLORS: Record<ChartSide, string> = {
  faultline: '#2f6fdf',
  baseline: '#9a9a9a',
  limit: '#e07b24',
  readaheadBaseline: '#3a9a4a',
  prefetch: '#8a3fbf',
  hugePages: '#1a9aa0',
};
const LEGEND: Record<ChartSide, string> = {
  faultline: 'Faultline',
  baseline: 'C baseline (blocking)',
  limit: 'C limit (busy-poll)',
  readaheadBaseline: 'C readahead ref',
  prefetch: 'Faultline prefetch',
  hugePages: 'Faultline, 2 MiB pages',
};
const SIDES: readonly ChartSide[] = ['faultline', ...REFERENCES, 'prefetch', 'hugePages'];

/** The bar colour of a restore variant: the C handler is the baseline's, on-demand Faultline Faultline's. */
function restoreSide(variant: string): ChartSide {
  if (variant.startsWith('c-')) return 'baseline';
  if (variant.includes('prefetch')) return 'prefetch';
  if (variant.endsWith('-2m')) return 'hugePages';
  return 'faultline';
}

function restoreRows(rows: readonly { name: string; variants: readonly { name: string; ms: number | undefined }[] }[]): ChartRow[] {
  return rows
    .filter((r) => r.variants.length > 0)
    .map((r) => ({
      name: r.name,
      unit: RESTORE_UNIT,
      bars: r.variants.flatMap((v) => (typeof v.ms === 'number' ? [{ side: restoreSide(v.name), value: v.ms }] : [])),
    }));
}

const ofRun = (results: readonly RestoreResult[]): ChartRow[] => restoreRows(results);
const ofRepeat = (spreads: readonly RestoreSpread[]): ChartRow[] =>
  restoreRows(spreads.map((s) => ({ name: s.name, variants: s.variants.map((v) => ({ name: v.name, ms: v.ms?.median })) })));

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A round axis step (1, 2 or 5 times a power of ten) giving about four ticks up to `max`. */
export function tickStep(max: number): number {
  if (!(max > 0)) return 1;
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const m = rough / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

const sidesOf = (s: Partial<Record<ChartSide, number | null | undefined>>): ChartRow['bars'] =>
  (['faultline', ...REFERENCES] as const).flatMap((side) => {
    const value = s[side];
    return typeof value === 'number' ? [{ side, value }] : [];
  });

export function chartOfRun(report: BenchReport): Chart {
  const e = report.environment;
  return {
    title:
      report.scenarios.length === 0
        ? `Faultline restore: time to the working set (${e.quick ? 'quick' : 'full'} run)`
        : `Faultline vs C handlers: throughput by scenario (${e.quick ? 'quick' : 'full'} run)`,
    subtitle: `${e.kernel}, node ${e.node}, ${e.cpus} CPUs, ${e.placement.pinnedCpu === null ? 'as scheduled' : `pinned to CPU ${e.placement.pinnedCpu}`}, ${e.date}`,
    rows: report.scenarios.map((s): ChartRow => ({
      name: s.name,
      unit: s.unit,
      bars: sidesOf({ faultline: s.faultline?.throughput, baseline: s.baseline?.throughput, limit: s.limit?.throughput, readaheadBaseline: s.readaheadBaseline?.throughput }),
    })).concat(ofRun(report.restore ?? [])),
  };
}

export function chartOfRepeat(report: RepeatReport): Chart {
  const e = report.environment;
  return {
    title:
      report.summary.length === 0
        ? `Faultline restore: median time to the working set of ${report.runs.length} runs (${e.quick ? 'quick' : 'full'})`
        : `Faultline vs C handlers: median throughput of ${report.runs.length} runs (${e.quick ? 'quick' : 'full'})`,
    subtitle: `${e.kernel}, node ${e.node}, ${e.cpus} CPUs, ${e.placement.pinnedCpu === null ? 'as scheduled' : `pinned to CPU ${e.placement.pinnedCpu}`}, ${e.date}`,
    rows: report.summary.map((s): ChartRow => ({
      name: s.name,
      unit: s.unit,
      bars: sidesOf(Object.fromEntries(Object.entries(s.throughput).map(([side, sp]) => [side, sp?.median]))),
    })).concat(ofRepeat(report.restoreSummary ?? [])),
  };
}

export function renderSvg(chart: Chart): string {
  const units = [...new Set(chart.rows.map((r) => r.unit))];
  const used = SIDES.filter((side) => chart.rows.some((r) => r.bars.some((b) => b.side === side)));
  const body: string[] = [];
  const width = LABEL_W + PLOT_W + 70;
  const perLine = Math.floor((width - 10) / LEGEND_W);
  const legendLines = Math.max(1, Math.ceil(used.length / perLine));
  let y = 64 + (legendLines - 1) * 16;
  for (const unit of units) {
    const rows = chart.rows.filter((r) => r.unit === unit);
    const max = Math.max(0, ...rows.flatMap((r) => r.bars.map((b) => b.value)));
    const step = tickStep(max);
    const axisMax = Math.max(step, Math.ceil(max / step) * step);
    const x = (v: number) => LABEL_W + Math.round((v / axisMax) * PLOT_W);
    const height = rows.reduce((h, r) => h + Math.max(1, r.bars.length) * (BAR + GAP) + ROW_PAD, 0);
    // The panel's axis: its unit, ticks with labels, gridlines through the bars.
    body.push(`<text x="10" y="${y + 12}" font-weight="bold">${escapeXml(unit)}</text>`);
    for (let v = 0; v <= axisMax + step / 2; v += step) {
      body.push(`<line x1="${x(v)}" y1="${y + AXIS_H - 6}" x2="${x(v)}" y2="${y + AXIS_H + height}" stroke="#e2e2e2"/>`);
      body.push(`<text x="${x(v)}" y="${y + AXIS_H - 10}" text-anchor="middle" font-size="10" fill="#555">${v === 0 ? '0' : escapeXml(si(v))}</text>`);
    }
    body.push(`<line x1="${LABEL_W}" y1="${y + AXIS_H - 6}" x2="${LABEL_W + PLOT_W}" y2="${y + AXIS_H - 6}" stroke="#555"/>`);
    let ry = y + AXIS_H;
    for (const r of rows) {
      const rowH = Math.max(1, r.bars.length) * (BAR + GAP);
      body.push(`<text x="${LABEL_W - 8}" y="${ry + rowH / 2 + 4}" text-anchor="end">${escapeXml(r.name)}</text>`);
      r.bars.forEach((b, k) => {
        const w = Math.max(1, x(b.value) - LABEL_W);
        const by = ry + k * (BAR + GAP);
        body.push(`<rect x="${LABEL_W}" y="${by}" width="${w}" height="${BAR}" fill="${COLORS[b.side]}"/>`);
        body.push(`<text x="${LABEL_W + w + 4}" y="${by + BAR - 2}" font-size="9">${escapeXml(si(b.value))}</text>`);
      });
      ry += rowH + ROW_PAD;
    }
    y = ry + 16;
  }
  const legend = used.map((side, i) => {
    const lx = 10 + (i % perLine) * LEGEND_W;
    const ly = 44 + Math.floor(i / perLine) * 16;
    return `<rect x="${lx}" y="${ly}" width="10" height="10" fill="${COLORS[side]}"/><text x="${lx + 14}" y="${ly + 9}">${escapeXml(LEGEND[side])}</text>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
    `<text x="10" y="36" fill="#555">${escapeXml(chart.subtitle)}</text>`,
    ...legend,
    ...body,
    '</svg>',
  ].join('\n') + '\n';
}
