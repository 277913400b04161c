// A self-contained SVG bar chart: throughput by scenario, Faultline next to
// the C baseline. Linear scale per unit group (pages/s and msgs/s rows are
// scaled separately, they are not comparable), value printed on each bar.
import { si } from '../format.js';
import type { BenchReport } from '../results.js';

const ROW = 34;
const BAR = 13;
const LABEL_W = 210;
const PLOT_W = 560;
const TOP = 56;
const COLORS = { faultline: '#2f6fdf', baseline: '#9a9a9a' } as const;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderSvg(report: BenchReport): string {
  const scenarios = report.scenarios;
  const maxByUnit = new Map<string, number>();
  for (const s of scenarios) {
    const m = Math.max(s.faultline?.throughput ?? 0, s.baseline?.throughput ?? 0, maxByUnit.get(s.unit) ?? 0);
    maxByUnit.set(s.unit, m);
  }
  const width = LABEL_W + PLOT_W + 80;
  const height = TOP + scenarios.length * ROW + 24;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escapeXml(`Faultline vs C baseline: throughput by scenario (${report.environment.quick ? 'quick' : 'full'} run)`)}</text>`,
    `<text x="10" y="38" fill="#555">${escapeXml(`${report.environment.kernel}, node ${report.environment.node}, ${report.environment.cpus} CPUs, ${report.environment.date}`)}</text>`,
    `<rect x="${LABEL_W}" y="44" width="10" height="10" fill="${COLORS.faultline}"/><text x="${LABEL_W + 14}" y="53">Faultline</text>`,
    `<rect x="${LABEL_W + 90}" y="44" width="10" height="10" fill="${COLORS.baseline}"/><text x="${LABEL_W + 104}" y="53">C baseline</text>`,
  ];
  scenarios.forEach((s, i) => {
    const y = TOP + i * ROW;
    const max = maxByUnit.get(s.unit) || 1;
    out.push(`<text x="${LABEL_W - 8}" y="${y + BAR + 4}" text-anchor="end">${escapeXml(s.name)}</text>`);
    const bars: [keyof typeof COLORS, number | undefined][] = [
      ['faultline', s.faultline?.throughput],
      ['baseline', s.baseline?.throughput],
    ];
    bars.forEach(([side, value], k) => {
      if (value === undefined) return;
      const w = Math.max(1, Math.round((value / max) * PLOT_W));
      const by = y + k * (BAR + 2);
      out.push(`<rect x="${LABEL_W}" y="${by}" width="${w}" height="${BAR}" fill="${COLORS[side]}"/>`);
      out.push(`<text x="${LABEL_W + w + 4}" y="${by + BAR - 2}" font-size="10">${escapeXml(`${si(value)} ${s.unit}`)}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
