// Runs a scenario round by round, its sides (the C references and Faultline)
// interleaved within every round (the machine is shared and noisy:
// interleaving spreads drift over every side; medians over rounds resist
// outliers). Each round is one tinybench run of every side with one iteration
// each, the duration being the toucher's own elapsed time
// (overriddenDuration), not the setup around it.
import { Bench } from 'tinybench';
import { REFERENCES, scenarioResult, summarise, type ReferenceName, type RoundSample, type ScenarioResult } from './results.js';
import type { BenchContext, Scenario, SideRun } from './scenarios/types.js';

export interface RunOptions {
  rounds: number;
  baselineOnly: boolean;
  /** Called before each round (progress display). */
  onRound?: (scenario: Scenario, round: number) => void;
}

type SideName = ReferenceName | 'faultline';

/** Round r starts with side r (mod the count): each side takes each place in turn, first and last included. */
export function sideOrder<T>(sides: readonly T[], round: number): T[] {
  const k = sides.length === 0 ? 0 : round % sides.length;
  return [...sides.slice(k), ...sides.slice(0, k)];
}

export async function runScenario(scenario: Scenario, ctx: BenchContext, options: RunOptions): Promise<ScenarioResult> {
  const sides: [SideName, SideRun][] = [];
  for (const ref of REFERENCES) {
    const run = scenario.references[ref];
    if (run !== undefined) sides.push([ref, run]);
  }
  if (!options.baselineOnly) sides.push(['faultline', scenario.faultline]);
  const samples = new Map<SideName, RoundSample[]>(sides.map(([name]) => [name, []]));

  for (let round = 0; round < options.rounds; round++) {
    options.onRound?.(scenario, round);
    const bench = new Bench({ name: scenario.name, iterations: 1, time: 0, warmup: false, throws: true });
    for (const [name, run] of sideOrder(sides, round)) {
      bench.add(name, async () => {
        const sample = await run(ctx);
        samples.get(name)!.push(sample);
        return { overriddenDuration: sample.elapsedNs / 1e6 };
      });
    }
    await bench.run();
  }
  const summary = (name: SideName) => {
    const list = samples.get(name);
    return list !== undefined && list.length > 0 ? summarise(list) : null;
  };
  return scenarioResult(
    { name: scenario.name, group: scenario.group, description: scenario.description, unit: scenario.unit, pages: scenario.pages(ctx) },
    { faultline: summary('faultline'), baseline: summary('baseline'), limit: summary('limit'), readaheadBaseline: summary('readaheadBaseline') },
    scenario.targets,
  );
}
