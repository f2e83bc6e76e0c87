/**
 * A task as a Ray job submission: `lr-<task>-<attempt>` as its submission id (so a retried
 * submit, or a later server instance, finds the same job instead of making a second one), the
 * script's folder as `working_dir`, the Lakeray Python runtime as a `py_modules` package, the
 * task's resources as entrypoint resources, and the job itself in LAKERAY_JOB (ray_job.py).
 *
 * The job goes in an environment variable because a Ray job has no stdin. Linux caps one
 * variable at 128 KiB (MAX_ARG_STRLEN), so the job's JSON is capped below that; larger params
 * belong in the lake or a file. CUDA_VISIBLE_DEVICES is Ray's to set (from
 * entrypoint_num_gpus), not Lakeray's.
 */
import path from 'node:path';
import { LakerayError, taskError } from '../../domain/errors.ts';
import type { Task } from '../../domain/task.ts';
import { isLakeName, resolveDataPath } from '../../runtime/paths.ts';
import { ENV, type Job } from '../../runtime/protocol.ts';
import { entrypointResources } from './entrypoint-resources.ts';
import type { RaySubmitRequest } from './jobs-client.ts';

export const JOB_ENV = 'LAKERAY_JOB';
/** Under MAX_ARG_STRLEN (131072) with room for the variable's name. */
export const MAX_JOB_JSON_BYTES = 120 * 1024;

export const submissionIdOf = (taskId: string, attempt: number): string => `lr-${taskId}-${attempt}`;

export interface JobRequestContext {
  /** name of the executor (metadata, so a sweep touches only its own jobs) */
  executor: string;
  /** the interpreter on the cluster that has Ray (and the script's libraries) */
  python: string;
  dataRoots: readonly string[];
  apiUrl: string | undefined;
  /** gcs:// URIs of the uploaded packages */
  workingDirUri: string;
  runtimeUri: string;
  /** extra env vars for every job (e.g. the report channel's URL and token) */
  env?: Record<string, string>;
}

const dataPath = (value: string | null, roots: readonly string[]): string | null =>
  value === null ? null : isLakeName(value) ? value : resolveDataPath(value, roots);

/**
 * The task's job as its harness reads it (runtime/protocol.ts Job), with the script relative to
 * its package, and its JSON. Throws a LakerayError (JOB_UNREADABLE) when it cannot be encoded.
 */
export function jobOf(task: Task, script: string, ctx: Pick<JobRequestContext, 'dataRoots' | 'apiUrl' | 'env'>): { job: Job; json: string } {
  const env: Record<string, string> = {
    [ENV.TASK_ID]: task.id,
    [ENV.ATTEMPT]: String(task.attempt),
    ...(ctx.apiUrl !== undefined ? { [ENV.API_URL]: ctx.apiUrl } : {}),
    ...ctx.env,
  };
  const job: Job = {
    task_id: task.id,
    attempt: task.attempt,
    script: path.basename(script), // relative to the script's package, where the harness starts
    input: dataPath(task.input, ctx.dataRoots),
    output: dataPath(task.output, ctx.dataRoots),
    params: task.params,
    env,
  };
  try {
    return { job, json: JSON.stringify(job) };
  } catch (err) {
    throw new LakerayError('JOB_UNREADABLE', `the task's job cannot be encoded for its harness (params nested too deeply?): ${String(err)}`);
  }
}

/** Throws a LakerayError (a task error code) when the task cannot be made a job. */
export function jobRequest(task: Task, script: string, ctx: JobRequestContext): RaySubmitRequest {
  const { job, json } = jobOf(task, script, ctx);
  const { env } = job;
  if (Buffer.byteLength(json) > MAX_JOB_JSON_BYTES) {
    throw new LakerayError(
      'JOB_UNREADABLE',
      `the task's job is ${Buffer.byteLength(json)} bytes as JSON; a Ray job carries at most ${MAX_JOB_JSON_BYTES} (pass large data through the lake or a file)`,
    );
  }
  return {
    entrypoint: `${ctx.python} -u -m lakeray.ray_job`,
    submission_id: submissionIdOf(task.id, task.attempt),
    runtime_env: {
      working_dir: ctx.workingDirUri,
      py_modules: [ctx.runtimeUri],
      env_vars: { ...env, [JOB_ENV]: json, PYTHONUNBUFFERED: '1' },
    },
    metadata: { lakeray_executor: ctx.executor, lakeray_task: task.id, lakeray_attempt: String(task.attempt) },
    ...entrypointResources(task.resources),
  };
}

export const jobError = (err: unknown) =>
  err instanceof LakerayError ? { code: err.code, message: err.message } : taskError('EXECUTOR_ERROR', String(err));
