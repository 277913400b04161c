// One run of the selected scenarios: the wake-up probe, every scenario's
// rounds, the probe again (the machine's state moves the baseline, so each
// run carries its own).
import type { BenchRun } from './repeat.js';
import type { Progress } from './progress.js';
import type { ScenarioResult } from './results.js';
import { runScenario } from './runner.js';
import type { BenchContext, Scenario } from './scenarios/types.js';
import { probeWakeups } from './wake-probe.js';

export interface RunPlan {
  scenarios: Scenario[];
  rounds: number;
  baselineOnly: boolean;
  /** 0-based, and how many (progress lines). */
  run: number;
  runs: number;
}

export async function benchRun(ctx: BenchContext, plan: RunPlan, progress: Progress): Promise<BenchRun> {
  progress.note(`${plan.runs > 1 ? `run ${plan.run + 1}/${plan.runs}: ` : ''}probing the wake-up cost`);
  const before = await probeWakeups();
  const scenarios: ScenarioResult[] = [];
  for (const [index, scenario] of plan.scenarios.entries()) {
    scenarios.push(
      await runScenario(scenario, ctx, {
        rounds: plan.rounds,
        baselineOnly: plan.baselineOnly,
        onRound: (s, round) =>
          progress.round({ run: plan.run, runs: plan.runs, index, count: plan.scenarios.length, scenario: s.name, round, rounds: plan.rounds }),
      }),
    );
  }
  progress.clear();
  return { run: plan.run + 1, wakeProbe: { before, after: await probeWakeups() }, scenarios };
}
