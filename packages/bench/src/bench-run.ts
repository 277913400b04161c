// One run of the selected scenarios: the wake-up probe, every scenario's
// rounds, the probe again (the machine's state moves the baseline, so each
// run carries its own).
import type { OocResult } from './ooc/results.js';
import { runOocScenario } from './ooc/runner.js';
import type { BenchRun } from './repeat.js';
import type { RestoreResult } from './restore/results.js';
import { runRestoreScenario } from './restore/runner.js';
import type { OocScenario } from './scenarios/out-of-core.js';
import type { RestoreScenario } from './scenarios/restore.js';
import { runWritesScenario, type WritesResult, type WritesScenario } from './scenarios/writes.js';
import type { Progress } from './progress.js';
import type { ScenarioResult } from './results.js';
import { runScenario } from './runner.js';
import type { BenchContext, Scenario } from './scenarios/types.js';
import { probeWakeups } from './wake-probe.js';

export interface RunPlan {
  scenarios: Scenario[];
  /** The restore group's scenarios, run after the others. */
  restore: RestoreScenario[];
  /** The out-of-core group's scenarios, after the restore group. */
  ooc: OocScenario[];
  /** The writes group's scenarios, run last. */
  writes: WritesScenario[];
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
  const count = plan.scenarios.length + plan.restore.length + plan.ooc.length + plan.writes.length;
  for (const [index, scenario] of plan.scenarios.entries()) {
    scenarios.push(
      await runScenario(scenario, ctx, {
        rounds: plan.rounds,
        baselineOnly: plan.baselineOnly,
        onRound: (s, round) =>
          progress.round({ run: plan.run, runs: plan.runs, index, count, scenario: s.name, round, rounds: plan.rounds }),
      }),
    );
  }
  const restore: RestoreResult[] = [];
  for (const [i, scenario] of plan.restore.entries()) {
    restore.push(
      await runRestoreScenario(scenario, ctx, {
        rounds: plan.rounds,
        baselineOnly: plan.baselineOnly,
        onRound: (s, round) =>
          progress.round({ run: plan.run, runs: plan.runs, index: plan.scenarios.length + i, count, scenario: s.name, round, rounds: plan.rounds }),
        onNote: (text) => progress.note(text),
      }),
    );
  }
  const ooc: OocResult[] = [];
  for (const [i, scenario] of plan.ooc.entries()) {
    ooc.push(
      await runOocScenario(scenario, ctx, {
        rounds: plan.rounds,
        baselineOnly: plan.baselineOnly,
        onRound: (s, round) =>
          progress.round({ run: plan.run, runs: plan.runs, index: plan.scenarios.length + plan.restore.length + i, count, scenario: s.name, round, rounds: plan.rounds }),
      }),
    );
  }
  const writes: WritesResult[] = [];
  for (const [i, scenario] of plan.writes.entries()) {
    const index = plan.scenarios.length + plan.restore.length + plan.ooc.length + i;
    writes.push(
      await runWritesScenario(scenario, {
        rounds: plan.rounds,
        pageSize: ctx.pageSize,
        onRound: (round) => progress.round({ run: plan.run, runs: plan.runs, index, count, scenario: scenario.name, round, rounds: plan.rounds }),
      }),
    );
  }
  progress.clear();
  return { run: plan.run + 1, wakeProbe: { before, after: await probeWakeups() }, scenarios, restore, ooc, writes };
}
