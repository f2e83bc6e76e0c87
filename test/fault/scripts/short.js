// A short task for the crash test: sleeps a few milliseconds, then succeeds.
export async function run(_input, _output, params) {
  await new Promise((r) => setTimeout(r, params.ms ?? 5));
  return { ok: true };
}
