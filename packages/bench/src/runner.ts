// Runs scenarios round by round, baseline and Faultline alternately (the
// machine is shared and noisy: alternating spreads drift over both sides;
// medians over rounds resist outliers). Each round is one tinybench run of
// both sides with one iteration each, the duration being the toucher's own
// elapsed time (overriddenDuration), not the setup around it.
import { Bench } from 'tinybench';
import { scenarioResult, summarise, type RoundSample, type ScenarioResult } from './results.js';
import type { BenchContext, Scenario } from './scenarios/types.js';

export interface RunOptions {
  rounds: number;
  baselineOnly: boolean;
  /** Called before each round (progress display). */
  onRound?: (scenario: Scenario, round: number) => void;
}

export async function runScenario(scenario: Scenario, ctx: BenchContext, options: RunOptions): Promise<ScenarioResult> {
  const faultline: RoundSample[] = [];
  const baseline: RoundSample[] = [];
  type Side = [name: string, run: (ctx: BenchContext) => Promise<RoundSample>, into: RoundSample[]];
  const sides: Side[] = [];
  if (scenario.baseline !== null) sides.push(['baseline', scenario.baseline, baseline]);
  if (!options.baselineOnly) sides.push(['faultline', (c) => scenario.faultline(c), faultline]);

  for (let round = 0; round < options.rounds; round++) {
    options.onRound?.(scenario, round);
    const bench = new Bench({ name: scenario.name, iterations: 1, time: 0, warmup: false, throws: true });
    // Odd rounds run the sides in the other order.
    for (const [name, run, into] of round % 2 === 0 ? sides : [...sides].reverse()) {
      bench.add(name, async () => {
        const sample = await run(ctx);
        into.push(sample);
        return { overriddenDuration: sample.elapsedNs / 1e6 };
      });
    }
    await bench.run();
  }
  return scenarioResult(
    { name: scenario.name, group: scenario.group, description: scenario.description, unit: scenario.unit, pages: scenario.pages(ctx) },
    faultline.length > 0 ? summarise(faultline) : null,
    baseline.length > 0 ? summarise(baseline) : null,
    scenario.target,
  );
}
