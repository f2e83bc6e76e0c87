// Reads a dataset (and optionally writes one) through the lake API as a task, then waits
// until the file `params.release` exists; fails instead of returning when `params.fail`.
import fs from 'node:fs';

export async function run(inputPath, outputPath, params, ctx) {
  const table = await ctx.readDataset(params.read);
  if (params.write) await ctx.writeDataset({ x: Float64Array.from([1, 2, 3]) }, { name: params.write, mode: 'overwrite' });
  ctx.log('lake calls done');
  while (!fs.existsSync(params.release)) {
    if (ctx.cancelled) return null;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (params.fail) throw new Error('failing on purpose');
  return { rows: table.numRows };
}
