/**
 * The ArtifactService over an artifact store: every read first checks that the task is the
 * caller's (`get` throws TASK_NOT_FOUND otherwise); a name the task never reported is
 * ARTIFACT_NOT_FOUND.
 */
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import { LakerayError } from '../domain/errors.ts';
import type { Task } from '../domain/task.ts';
import type { ArtifactService } from './artifact-service.ts';
import type { Caller } from './task-service.ts';

export function tenantArtifacts(store: ArtifactStore, get: (caller: Caller, id: string) => Promise<Task>): ArtifactService {
  const notFound = (id: string, name: string) => new LakerayError('ARTIFACT_NOT_FOUND', `Task '${id}' has no artifact '${name}'`);
  return {
    list: async (caller, id) => {
      await get(caller, id);
      return store.list(id);
    },
    stat: async (caller, id, name) => {
      await get(caller, id);
      const info = await store.stat(id, name);
      if (info === null) throw notFound(id, name);
      return info;
    },
    read: async (caller, id, name, range) => {
      await get(caller, id);
      try {
        return await store.read(id, name, range);
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') throw notFound(id, name);
        throw err;
      }
    },
  };
}
