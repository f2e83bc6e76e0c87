/**
 * Hands a claimed task to its executor and turns the executor's callbacks into the engine's
 * work: events go to the event writer (through the run's artifact gate when an artifact store
 * is configured: a task never ends before its files are stored, artifact-ingest.ts), the
 * placement the executor reports is recorded with the task, and the one exit becomes a
 * completion to settle.
 */
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import { taskError, type TaskError } from '../domain/errors.ts';
import type { RunCallbacks, RunOutcome } from '../executors/executor.ts';
import { RunArtifacts } from './artifact-ingest.ts';
import type { EventWriter } from './event-writer.ts';
import type { PlacementRecorder } from './placements.ts';
import type { Running } from './running-tasks.ts';

export interface LaunchDeps {
  writer: EventWriter;
  placements: PlacementRecorder;
  /** Where reported files go; without it, artifact events pass as they are. */
  artifacts?: ArtifactStore;
  now: () => number;
  /** The run's process is gone (called once per launch). */
  complete: (id: string, outcome: RunOutcome) => void;
  onError?: (err: unknown, context: string) => void;
}

/**
 * The callbacks through which the engine follows a run: the ones `launch` hands to
 * `executor.run`, and the ones a re-attached task gets (Reconciler → Executor.reattach).
 * `failed(error)` ends the run when the executor threw instead of taking it.
 */
export function follow(run: Running, deps: LaunchDeps): RunCallbacks & { failed(error: TaskError): void } {
  const { task } = run;
  const gpus = task.assignment?.gpus ?? [];
  let exited = false;
  let artifacts: RunArtifacts | null = null;
  // Methods, not arrow functions bound to names: tsx (esbuild keepNames) wraps every named
  // arrow in a defineProperty call, paid per task here.
  const on = {
    push(type: Parameters<RunArtifacts['event']>[0], data: Record<string, unknown>): void {
      deps.writer.push({ task_id: task.id, tenant: task.tenant, type, ts: deps.now(), data, fence: run.fence });
    },
    /** With an artifact store, the run's end first waits for its files to be in the store. */
    end(outcome: RunOutcome): void {
      if (artifacts === null) return deps.complete(task.id, outcome);
      if (!artifacts.mustWait) {
        // The harness removed its work dir, unless the process died or was killed first.
        if (outcome.kind !== 'completed') artifacts.discardStaging();
        return deps.complete(task.id, outcome);
      }
      void artifacts.finish(outcome, () => run.cancelRequested || run.shutdown).then((o) => deps.complete(task.id, o));
    },
  };
  if (deps.artifacts) artifacts = new RunArtifacts(task.id, deps.artifacts, on.push, deps.onError);
  const callbacks: RunCallbacks & { failed(error: TaskError): void } = {
    started(info) {
      // The executor gives a placement only where a later instance needs it (placements.ts).
      if (info.placement === undefined) return;
      const assignment = { gpus: [...gpus], placement: info.placement };
      task.assignment = assignment;
      deps.placements.placed({ id: task.id, assignment }, run.fence);
    },
    event(type, data) {
      if (artifacts === null) on.push(type, data);
      else artifacts.event(type, data);
    },
    exit(outcome) {
      if (exited) return;
      exited = true;
      on.end(outcome);
    },
    failed(error) {
      this.exit({ kind: 'failed', error });
    },
  };
  // The run's own exit, for what else may end it (a result on the seed's Redis stream).
  run.exit = callbacks.exit;
  return callbacks;
}

export function launch(run: Running, deps: LaunchDeps): void {
  const callbacks = follow(run, deps);
  try {
    run.executor.run(run.task, run.task.assignment?.gpus ?? [], callbacks);
  } catch (err) {
    callbacks.failed(taskError('EXECUTOR_ERROR', (err as Error).message));
  }
}
