/**
 * Resource vectors: cpu (cores, fractional allowed), memory_mb, gpu (whole devices) and any
 * number of custom named resources. All operations are pure and never mutate their inputs.
 */
export interface Resources {
  cpu: number;
  memory_mb: number;
  gpu: number;
  custom: Record<string, number>;
}

export const ZERO: Resources = Object.freeze({ cpu: 0, memory_mb: 0, gpu: 0, custom: Object.freeze({}) }) as Resources;

export const resources = (r: Partial<Resources> = {}): Resources => ({
  cpu: r.cpu ?? 0,
  memory_mb: r.memory_mb ?? 0,
  gpu: r.gpu ?? 0,
  custom: { ...(r.custom ?? {}) },
});

// Float sums of fractional cpus (0.1 + 0.2) must not make a fitting task look too big.
const EPS = 1e-9;

const combine = (a: Resources, b: Resources, f: (x: number, y: number) => number): Resources => {
  const custom: Record<string, number> = {};
  // for…in instead of a Set of both key lists: the ledger and the scheduler combine vectors
  // for every task they hold, release or admit, and most vectors have no custom resources.
  for (const k in a.custom) custom[k] = f(a.custom[k] as number, b.custom[k] ?? 0);
  for (const k in b.custom) if (!Object.hasOwn(custom, k)) custom[k] = f(0, b.custom[k] as number);
  return { cpu: f(a.cpu, b.cpu), memory_mb: f(a.memory_mb, b.memory_mb), gpu: f(a.gpu, b.gpu), custom };
};

export const add = (a: Resources, b: Resources): Resources => combine(a, b, (x, y) => x + y);
export const sub = (a: Resources, b: Resources): Resources => combine(a, b, (x, y) => x - y);
export const min = (a: Resources, b: Resources): Resources => combine(a, b, Math.min);
export const clampZero = (a: Resources): Resources => combine(a, ZERO, (x) => Math.max(0, x));

/** True when `need` fits inside `free` in every dimension. */
export const fits = (need: Resources, free: Resources): boolean =>
  need.cpu <= free.cpu + EPS &&
  need.memory_mb <= free.memory_mb + EPS &&
  need.gpu <= free.gpu + EPS &&
  customFits(need.custom, free.custom);

const customFits = (need: Record<string, number>, free: Record<string, number>): boolean => {
  for (const k in need) if ((need[k] as number) > (free[k] ?? 0) + EPS) return false;
  return true;
};

/** The largest share of any dimension of `capacity` that `used` takes (dominant resource share). */
export const dominantShare = (used: Resources, capacity: Resources): number => {
  let share = Math.max(
    0,
    capacity.cpu > 0 ? used.cpu / capacity.cpu : 0,
    capacity.memory_mb > 0 ? used.memory_mb / capacity.memory_mb : 0,
    capacity.gpu > 0 ? used.gpu / capacity.gpu : 0,
  );
  for (const k in used.custom) {
    const cap = capacity.custom[k] ?? 0;
    if (cap > 0) share = Math.max(share, (used.custom[k] as number) / cap);
  }
  return share;
};

export const describe = (r: Resources): string => {
  const parts = [`cpu=${r.cpu}`, `memory_mb=${r.memory_mb}`, `gpu=${r.gpu}`];
  for (const [k, v] of Object.entries(r.custom)) parts.push(`${k}=${v}`);
  return parts.join(' ');
};
