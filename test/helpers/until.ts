/** Polls `f` until it returns something truthy (returned), or fails after `ms` naming `what`. */
export async function until<T>(what: string, f: () => Promise<T | undefined | null | false>, ms = 20_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
