/**
 * Files of a task that runs on another machine: its harness PUTs each file it reports with
 * ctx.artifact to /api/v1/tasks/{id}/artifacts/{name} with the task's token, and the file
 * goes into the artifact store as a local task's would (written to the task's staging dir,
 * then ingested). The harness then reports the artifact as `uploaded` (artifact-ingest.ts),
 * so nothing assumes the task shares a filesystem with the server.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isArtifactName, type ArtifactInfo, type ArtifactStore } from '../artifacts/artifact-store.ts';
import { LakerayError } from '../domain/errors.ts';
import type { RemoteReports } from './remote-reports.ts';

export class RemoteUploads {
  constructor(
    private readonly reports: RemoteReports,
    private readonly store: ArtifactStore,
  ) {}

  /** Authorizes (the task's token, its current attempt), then stores the body as the artifact `name`. */
  async put(taskId: string, name: string, authorization: string | undefined, body: Readable, contentType: string | undefined): Promise<ArtifactInfo> {
    if (!isArtifactName(name)) throw new LakerayError('INVALID_REQUEST', `'${name.slice(0, 100)}' is not an artifact name (letters, digits, . _ - only)`);
    await this.reports.authorize(taskId, authorization);
    const dir = this.store.stagingDir(taskId);
    await mkdir(dir, { recursive: true });
    const path = join(dir, `.upload-${randomUUID()}`);
    try {
      await pipeline(body, createWriteStream(path, { flags: 'wx' }));
      return await this.store.ingest(taskId, { path, name, content_type: contentType });
    } finally {
      await rm(path, { force: true });
    }
  }
}
