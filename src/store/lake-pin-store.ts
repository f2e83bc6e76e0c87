/**
 * What running tasks hold in the lake (lake/service/task-pins.ts), kept in the task store's
 * database so it outlives the process that served the lake call and every node sees it: the
 * version of each table a task read first (its pin) and the tables it writes. Released when the
 * task ends. `kind` is the lake's table kind (`datasets`, `models`).
 */

export interface LakeTableRef {
  kind: string;
  name: string;
}

export interface LakePinStore {
  /** Records `version` as the task's pin of the table unless it has one; returns the pin that holds. */
  pinLakeRead(taskId: string, tenant: string, table: LakeTableRef, version: number, now: number): Promise<number>;
  noteLakeWrite(taskId: string, tenant: string, table: LakeTableRef, now: number): Promise<void>;
  /** What the task holds (empty lists: nothing), in the order it was noted. */
  lakePinsOf(taskId: string): Promise<{ reads: (LakeTableRef & { version: number })[]; writes: LakeTableRef[] }>;
  /** Tasks that read or write this table (of one tenant, when given). */
  lakeTableUsers(table: LakeTableRef, tenant?: string): Promise<string[]>;
  /** Every task that holds something. */
  lakePinnedTasks(): Promise<string[]>;
  /** Releases everything these tasks hold (a batch of task ends: one statement). */
  releaseLakePins(taskIds: readonly string[]): Promise<void>;
}
