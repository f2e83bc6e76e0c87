/**
 * A task's job as its harness gets it (runtime/protocol.ts): the resolved script, input and
 * output (absolute paths inside the data roots, or lake names), params, and the environment
 * of the run: exactly the GPUs the engine gave it (CUDA_VISIBLE_DEVICES, "" for none), its id
 * and attempt, where the platform's API is, and its work dir.
 */
import type { Task } from '../../domain/task.ts';
import { isLakeName, resolveDataPath } from '../../runtime/paths.ts';
import { ENV, type Job } from '../../runtime/protocol.ts';

export interface JobContext {
  dataRoots: readonly string[];
  /** The platform's URL as tasks see it, when known. */
  apiUrl: string | undefined;
  /** The task's work dir (LAKERAY_WORK_DIR), if work dirs are on. */
  workDir?: (taskId: string) => string;
  /** The task's token (LAKERAY_TASK_TOKEN) for its attempt. */
  taskToken?: (taskId: string, attempt: number) => string;
}

/** A lake name (`mnist_clean`) passes through; anything else is a path inside a data root (or throws). */
const dataPath = (value: string | null, roots: readonly string[]): string | null => {
  if (value === null) return null;
  return isLakeName(value) ? value : resolveDataPath(value, roots);
};

export function jobFor(task: Task, script: string, gpus: readonly string[], ctx: JobContext): Job {
  const env: Record<string, string> = {
    [ENV.CUDA]: gpus.join(','),
    [ENV.TASK_ID]: task.id,
    [ENV.ATTEMPT]: String(task.attempt),
    [ENV.LAKE_LOCAL]: '1',
  };
  if (ctx.apiUrl !== undefined) env[ENV.API_URL] = ctx.apiUrl;
  if (ctx.taskToken !== undefined) env[ENV.TASK_TOKEN] = ctx.taskToken(task.id, task.attempt);
  // The harness makes it before run() and removes it after, unless the job reported an
  // artifact (the engine then removes it once the files are in the store).
  if (ctx.workDir !== undefined) env[ENV.WORK_DIR] = ctx.workDir(task.id);
  return {
    task_id: task.id,
    attempt: task.attempt,
    script,
    input: dataPath(task.input, ctx.dataRoots),
    output: dataPath(task.output, ctx.dataRoots),
    params: task.params,
    env,
  };
}
