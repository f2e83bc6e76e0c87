/**
 * The evaluation reports a server offers (GET /api/v1/eval/reports): the run folders of its
 * eval results directory. Ids and file names are checked against fixed patterns before any
 * path is built, so a request can never name a file outside a run folder; answers carry ids
 * and file names only, never a path of the server's disk.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TENANT_NAME } from '../../auth/keys.ts';
import { LakerayError } from '../../domain/errors.ts';
import { tenantSegments } from '../../domain/tenant-dir.ts';
import { REPORT_FILES, type ReportFile } from './report.ts';
import type { EvalSummary } from './summary.ts';

/** runId(): an ISO time with `:` and `.` turned into `-`, e.g. 2026-12-05T14-30-00-123Z. */
export const REPORT_ID_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

export const REPORT_CONTENT_TYPES: Record<ReportFile, string> = {
  'summary.json': 'application/json; charset=utf-8',
  'README.md': 'text/markdown; charset=utf-8',
  'user_test_charts.png': 'image/png',
  'batch_test_heatmaps.png': 'image/png',
};

/** A run in the listing: its summary's header, how many phases it has, and its files. */
export type ReportListItem = Pick<EvalSummary, 'id' | 'deployment' | 'model' | 'mode' | 'users' | 'started_at' | 'finished_at' | 'interrupted'> & {
  phases: number;
  files: ReportFile[];
};

/**
 * Where a tenant's reports live under the eval results directory (domain/tenant-dir.ts): `default`'s (the operator's,
 * and every report written before reports had tenants) in the directory itself, any other
 * tenant's in `tenants/<tenant>/`. A report id never looks like `tenants` (REPORT_ID_PATTERN),
 * so one tenant's listing never shows another's folder.
 */
export function tenantReportsDir(resultsDir: string, tenant: string): string {
  // Tenant names are checked where keys are made (auth/keys.ts); this keeps a path a path.
  const segments = TENANT_NAME.test(tenant) ? tenantSegments(tenant) : null;
  if (segments === null) throw new LakerayError('INVALID_REQUEST', `tenant "${tenant}" cannot name a reports folder`);
  return join(resultsDir, ...segments);
}

export class EvalReports {
  constructor(private readonly dir: string) {}

  /** Newest first; folders that are not finished runs (no readable summary.json) are skipped. */
  async list(): Promise<ReportListItem[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const items: ReportListItem[] = [];
    for (const id of names.filter((n) => REPORT_ID_PATTERN.test(n)).sort().reverse()) {
      const item = await this.describe(id);
      if (item) items.push(item);
    }
    return items;
  }

  async file(id: string, file: string): Promise<{ body: Buffer; contentType: string }> {
    if (!REPORT_ID_PATTERN.test(id) || !(REPORT_FILES as readonly string[]).includes(file)) throw notFound(id, file);
    try {
      return { body: await readFile(join(this.dir, id, file)), contentType: REPORT_CONTENT_TYPES[file as ReportFile] };
    } catch (e) {
      if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) throw notFound(id, file);
      throw e;
    }
  }

  private async describe(id: string): Promise<ReportListItem | null> {
    let s: EvalSummary;
    let present: string[];
    try {
      s = JSON.parse(await readFile(join(this.dir, id, 'summary.json'), 'utf8')) as EvalSummary;
      present = await readdir(join(this.dir, id));
    } catch {
      return null; // not a run folder (or someone else's file): not listed, never an error
    }
    return {
      id,
      deployment: String(s.deployment),
      model: s.model ?? null,
      mode: s.mode,
      users: s.users,
      started_at: s.started_at,
      finished_at: s.finished_at,
      interrupted: s.interrupted === true,
      phases: Array.isArray(s.phases) ? s.phases.length : 0,
      files: REPORT_FILES.filter((f) => present.includes(f)),
    };
  }
}

function notFound(id: string, file: string): LakerayError {
  return new LakerayError('EVAL_REPORT_NOT_FOUND', `no file "${file}" in evaluation report "${id}"`);
}
