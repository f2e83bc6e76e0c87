/** Removing a task's staging dir, shared by the stores (the dir is local whatever the store). */
import { rm, rmdir } from 'node:fs/promises';

export async function removeStagingDir(dir: string): Promise<void> {
  // Usually empty (its files went into the store): one rmdir, not a recursive walk.
  try {
    await rmdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return;
    await rm(dir, { recursive: true, force: true });
  }
}
