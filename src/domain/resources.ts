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

const customKeys = (a: Resources, b: Resources): string[] => [...new Set([...Object.keys(a.custom), ...Object.keys(b.custom)])];

const combine = (a: Resources, b: Resources, f: (x: number, y: number) => number): Resources => {
  const custom: Record<string, number> = {};
  for (const k of customKeys(a, b)) custom[k] = f(a.custom[k] ?? 0, b.custom[k] ?? 0);
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
  Object.entries(need.custom).every(([k, v]) => v <= (free.custom[k] ?? 0) + EPS);

/** The largest share of any dimension of `capacity` that `used` takes (dominant resource share). */
export const dominantShare = (used: Resources, capacity: Resources): number => {
  const shares = [
    capacity.cpu > 0 ? used.cpu / capacity.cpu : 0,
    capacity.memory_mb > 0 ? used.memory_mb / capacity.memory_mb : 0,
    capacity.gpu > 0 ? used.gpu / capacity.gpu : 0,
    ...Object.entries(used.custom).map(([k, v]) => ((capacity.custom[k] ?? 0) > 0 ? v / (capacity.custom[k] as number) : 0)),
  ];
  return Math.max(0, ...shares);
};

export const describe = (r: Resources): string => {
  const parts = [`cpu=${r.cpu}`, `memory_mb=${r.memory_mb}`, `gpu=${r.gpu}`];
  for (const [k, v] of Object.entries(r.custom)) parts.push(`${k}=${v}`);
  return parts.join(' ');
};
