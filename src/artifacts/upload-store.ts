/**
 * UploadStore: input files clients send before they refer to them (`image` of a video
 * generation: an upload id). local/ keeps them as <state_dir>/uploads/<id>.<ext> for tenant
 * `default` and <state_dir>/uploads/tenants/<T>/<id>.<ext> for any other; a task gets the
 * file's local path. Ids are "up_" + 24 random base32 characters: unguessable, and a path
 * segment by construction. An upload belongs to the tenant that sent it: to every other
 * tenant it does not exist.
 */
export interface Upload {
  id: string;
  content_type: string;
  size: number;
  /** Absolute local path a task can read. */
  path: string;
  /** epoch ms */
  created_at: number;
}

export interface UploadKind {
  content_type: string;
  /** File extension without the dot (png, jpg, …). */
  extension: string;
}

export interface UploadStore {
  /** Stores the bytes as `tenant`'s (written whole: temp file + rename) and returns the new upload. */
  save(tenant: string, bytes: Buffer, kind: UploadKind): Promise<Upload>;
  /** null for an unknown (or malformed) id, and for another tenant's. */
  get(tenant: string, id: string): Promise<Upload | null>;
}

export const isUploadId = (id: string): boolean => /^up_[0-9a-z]{24}$/.test(id);
