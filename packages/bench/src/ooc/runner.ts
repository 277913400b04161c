// Runs an out-of-core scenario round by round, the C handler and Faultline
// interleaved (each takes each place in turn, sideOrder), each round on a
// fresh file: drift on the shared machine spreads over both sides, and the
// medians over rounds resist outliers.
import { sideOrder } from '../runner.js';
import type { OocScenario, OocSide } from '../scenarios/out-of-core.js';
import type { BenchContext } from '../scenarios/types.js';
import { oocResult, summariseOocSide, type OocResult, type OocSample } from './results.js';

export interface OocRunOptions {
  rounds: number;
  baselineOnly: boolean;
  onRound?: (scenario: OocScenario, round: number) => void;
}

export async function runOocScenario(scenario: OocScenario, ctx: BenchContext, options: OocRunOptions): Promise<OocResult> {
  const sides = scenario.sides.filter((s) => !options.baselineOnly || s.reference);
  const samples = new Map<OocSide, OocSample[]>(sides.map((s) => [s, []]));
  for (let r = 0; r < options.rounds; r++) {
    options.onRound?.(scenario, r);
    for (const side of sideOrder(sides, r)) samples.get(side)!.push(await side.run(ctx, scenario.sizes));
  }
  const shape = { fileBytes: scenario.sizes.fileBytes, updates: scenario.sizes.updates, pageSize: ctx.pageSize };
  const summary = (name: OocSide['name']) => {
    const side = sides.find((s) => s.name === name);
    return side === undefined ? null : summariseOocSide(samples.get(side)!, shape);
  };
  return oocResult(
    {
      name: scenario.name,
      group: scenario.group,
      description: scenario.description,
      fileBytes: scenario.sizes.fileBytes,
      budgetBytes: scenario.sizes.budgetBytes,
      evictToBytes: scenario.sizes.evictToBytes,
      updates: scenario.sizes.updates,
      pageSize: ctx.pageSize,
    },
    summary('c'),
    summary('faultline'),
  );
}
