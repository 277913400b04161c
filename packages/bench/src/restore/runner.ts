// Runs a restore scenario round by round. Every round restores fresh
// children with every variant, the variants interleaved: the scenario's units
// (a recording and the prefetch that uses its trace stay together, in that
// order) take each place in turn (sideOrder), so drift on the shared machine
// spreads over all of them; medians over rounds resist outliers.
import { sideOrder } from '../runner.js';
import type { RestoreRound, RestoreScenario, RestoreVariant } from '../scenarios/restore.js';
import type { BenchContext } from '../scenarios/types.js';
import { compareVariants, summariseVariant, type RestoreResult, type RestoreSample } from './results.js';

export interface RestoreRunOptions {
  rounds: number;
  baselineOnly: boolean;
  onRound?: (scenario: RestoreScenario, round: number) => void;
  /** A line for the progress display (e.g. why a scenario is skipped). */
  onNote?: (text: string) => void;
}

export async function runRestoreScenario(scenario: RestoreScenario, ctx: BenchContext, options: RestoreRunOptions): Promise<RestoreResult> {
  const snapshot = ctx.restoreSnapshot();
  const units = scenario.units
    .map((unit) => unit.filter((v) => !options.baselineOnly || v.reference))
    .filter((unit) => unit.length > 0);
  const result = (skipped: string | null, variants: RestoreResult['variants']): RestoreResult => ({
    name: scenario.name,
    group: scenario.group,
    description: scenario.description,
    regionBytes: snapshot.regionBytes,
    totalPages: snapshot.totalPages,
    workingSetPages: snapshot.workingSetPages,
    skipped,
    variants,
    comparisons: skipped === null ? compareVariants(variants, scenario.comparisons) : [],
  });
  if (units.length === 0) return result('--baseline-only: this scenario has no C reference', []);
  const undo = await scenario.prepare?.(ctx);
  if (typeof undo === 'string') {
    options.onNote?.(`${scenario.name}: skipped: ${undo}`);
    return result(undo, []);
  }
  const samples = new Map<RestoreVariant, RestoreSample[]>(units.flat().map((v) => [v, []]));
  try {
    for (let r = 0; r < options.rounds; r++) {
      options.onRound?.(scenario, r);
      const round: RestoreRound = { tracePath: null };
      try {
        for (const unit of sideOrder(units, r)) {
          for (const variant of unit) samples.get(variant)!.push(await variant.run(ctx, round));
        }
      } finally {
        if (round.tracePath !== null) snapshot.dropTrace(round.tracePath);
      }
    }
  } finally {
    await undo?.();
  }
  return result(
    null,
    units.flat().map((v) => summariseVariant(v.name, v.description, samples.get(v)!)),
  );
}
