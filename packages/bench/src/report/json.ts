// The machine-readable report and where its chart goes. One run:
// { environment, scenarios }; with --repeat: { environment, runs, summary }.
import type { RepeatReport } from '../repeat.js';
import type { BenchReport } from '../results.js';

export function reportJson(report: BenchReport | RepeatReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

/** The SVG chart is written next to the JSON: results.json -> results.svg. */
export function svgPathFor(jsonPath: string): string {
  return /\.json$/i.test(jsonPath) ? jsonPath.replace(/\.json$/i, '.svg') : `${jsonPath}.svg`;
}
