/**
 * Concrete GPU device assignment. The scheduler counts GPUs; this picks which ones, so a
 * task asking for `gpu: 2` gets two device ids that no other running task holds.
 */
export const freeDevices = (inventory: readonly string[], held: Iterable<string>): string[] => {
  const taken = new Set(held);
  return inventory.filter((id) => !taken.has(id));
};

/** Lowest free ids first (stable, easy to read in logs); null when not enough are free. */
export const pickDevices = (inventory: readonly string[], held: Iterable<string>, count: number): string[] | null => {
  if (count <= 0) return [];
  const free = freeDevices(inventory, held);
  return free.length >= count ? free.slice(0, count) : null;
};
