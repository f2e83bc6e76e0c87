/**
 * UploadStore in a local directory (<state_dir>/uploads): <id>.<ext>, written to a temporary
 * name and renamed, so a task never reads half an upload. The extension records the type.
 * Tenant `default` keeps the directory itself (uploads made before tenants stay readable);
 * tenant T has tenants/T under it, as the lake and eval reports do (domain/tenant-dir.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tenantSegments } from '../../domain/tenant-dir.ts';
import { isUploadId, type Upload, type UploadKind, type UploadStore } from '../upload-store.ts';

const TYPES: Readonly<Record<string, string>> = { png: 'image/png', jpg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif' };

function tenantRoot(dir: string, tenant: string): string {
  const segments = tenantSegments(tenant);
  if (segments === null) throw new Error(`tenant "${tenant}" cannot name an uploads directory`);
  return join(dir, ...segments);
}

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const newId = (): string => `up_${[...randomBytes(24)].map((b) => ALPHABET[b & 31]).join('')}`;

export class LocalUploadStore implements UploadStore {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async save(tenant: string, bytes: Buffer, kind: UploadKind): Promise<Upload> {
    if (!Object.hasOwn(TYPES, kind.extension)) throw new Error(`uploads of .${kind.extension} are not kept`);
    const dir = tenantRoot(this.dir, tenant);
    await mkdir(dir, { recursive: true });
    const id = newId();
    const path = join(dir, `${id}.${kind.extension}`);
    const tmp = join(dir, `.tmp-${id}`);
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { id, content_type: kind.content_type, size: bytes.length, path, created_at: Date.now() };
  }

  async get(tenant: string, id: string): Promise<Upload | null> {
    if (!isUploadId(id)) return null;
    const dir = tenantRoot(this.dir, tenant);
    for (const [extension, content_type] of Object.entries(TYPES)) {
      const path = join(dir, `${id}.${extension}`);
      try {
        const s = await stat(path);
        return { id, content_type, size: s.size, path, created_at: Math.floor(s.mtimeMs) };
      } catch {
        // not this extension
      }
    }
    return null;
  }
}
