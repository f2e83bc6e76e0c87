// Conformance: logs that it started, then waits until its signal aborts (or params.ms pass).
export async function run(inputPath, outputPath, params, ctx) {
  ctx.log(`waiting ${process.pid}`);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, Number(params.ms ?? 120_000));
    ctx.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(ctx.signal.reason);
    });
  });
  return { waited: true, pid: process.pid };
}
