/**
 * What the API may ask about a task's artifacts (the files its script reported). Scoped to
 * the caller's tenant like every task read: another tenant's task is TASK_NOT_FOUND.
 */
import type { Readable } from 'node:stream';
import type { ArtifactInfo, ByteRange } from '../artifacts/artifact-store.ts';
import type { Caller } from './task-service.ts';

export type { ArtifactInfo, ByteRange };

export interface ArtifactService {
  list(caller: Caller, taskId: string): Promise<ArtifactInfo[]>;
  /** Throws TASK_NOT_FOUND or ARTIFACT_NOT_FOUND. */
  stat(caller: Caller, taskId: string, name: string): Promise<ArtifactInfo>;
  /** The bytes (of a range); call stat first. */
  read(caller: Caller, taskId: string, name: string, range?: ByteRange): Promise<Readable>;
}
