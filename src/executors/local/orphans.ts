/**
 * Harness processes a previous server instance left running (it died with kill -9, or its
 * machine's supervisor restarted it): found by the pids the store recorded for cold runs, and
 * by the owner marker every harness of this executor carries in its environment (so warm
 * workers, which the store never records, are found too). Each is killed with its process
 * group, and only if it is a Lakeray harness: a recycled pid of an unrelated program is never
 * touched, and neither is a process of this instance.
 */
import type { Task } from '../../domain/task.ts';
import { isGroupLeader, isLakerayHarness, processAlive, processesWithEnv, signalGroup, sweepGroup } from './process-group.ts';

/** The environment variable that marks an executor's harnesses (LocalExecutorOptions.owner). */
export const OWNER_ENV = 'LAKERAY_OWNER';

export interface OrphanSearch {
  /** Tasks a previous instance left running; their recorded pids are candidates. */
  tasks: readonly Task[];
  /** This executor's owner marker, if it has one. */
  owner: string | undefined;
  /** Processes of this instance, never killed whatever the store says. */
  ours: ReadonlySet<number | undefined>;
  logger?: { warn(o: unknown, msg?: string): void };
}

export async function killOrphans({ tasks, owner, ours, logger }: OrphanSearch): Promise<void> {
  const pids = new Set(tasks.map(recordedPid).filter((pid): pid is number => typeof pid === 'number' && pid > 1));
  if (owner !== undefined) for (const pid of processesWithEnv(`${OWNER_ENV}=${owner}`)) pids.add(pid);
  await Promise.all([...pids].map(async (pid) => {
    if (ours.has(pid) || !processAlive(pid) || !isLakerayHarness(pid)) return;
    logger?.warn({ pid }, 'killing a harness process left by a previous server');
    if (isGroupLeader(pid)) {
      signalGroup(pid, 'SIGKILL');
      await sweepGroup(pid);
    } else {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }));
}

/** A cold run's pid: in its placement, or (rows written before placements) in the assignment. */
const recordedPid = (task: Task): unknown => {
  const placement = task.assignment?.placement;
  return placement?.kind === 'process' ? placement.pid : task.assignment?.pid;
};
