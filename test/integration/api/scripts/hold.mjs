// Holds its slot until cancelled (or the server stops): a task that stays running.
export async function run(inputPath, outputPath, params, ctx) {
  await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
  return null;
}
