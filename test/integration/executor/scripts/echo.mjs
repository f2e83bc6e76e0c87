// Conformance: reports a progress, a log line and a metric, then returns what it was given.
export async function run(inputPath, outputPath, params, ctx) {
  ctx.progress(0.5, 'half');
  ctx.log('hello');
  ctx.metric('m', 1.5, 1);
  ctx.progress(1, 'done');
  return { params, task_id: ctx.task_id, attempt: ctx.attempt, env_attempt: ctx.env.LAKERAY_ATTEMPT ?? null, pid: process.pid };
}
