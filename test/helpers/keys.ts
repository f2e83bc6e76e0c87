/**
 * API keys for tests, without the CLI: `createKey(store | dbPath, {tenant, role})` returns the
 * bearer string (`Authorization: Bearer <it>`). A path opens the SQLite database the way
 * `lakeray keys create` does (no store lock: the server may hold it).
 */
import { createApiKey, type NewKeyOptions } from '../../src/auth/keys.ts';
import { openKeyStores } from '../../src/auth/key-admin-store.ts';
import type { TaskStore } from '../../src/store/task-store.ts';

export interface TestKeyOptions extends Partial<NewKeyOptions> {
  tenant: string;
  role: NewKeyOptions['role'];
}

const OPERATOR = { tenant: 'default', role: 'admin', key_id: null } as const;

export async function createKey(store: Pick<TaskStore, 'keys' | 'audit'> | string, opts: TestKeyOptions): Promise<string> {
  if (typeof store !== 'string') return (await createApiKey(store, OPERATOR, opts)).bearer;
  const opened = await openKeyStores({ kind: 'sqlite', path: store });
  try {
    return (await createApiKey(opened, OPERATOR, opts)).bearer;
  } finally {
    await opened.close();
  }
}

/** Like createKey, with the key's id too (to revoke it, or find it in the audit log). */
export async function createKeyWithId(store: Pick<TaskStore, 'keys' | 'audit'>, opts: TestKeyOptions): Promise<{ id: string; bearer: string }> {
  const { key, bearer } = await createApiKey(store, OPERATOR, opts);
  return { id: key.id, bearer };
}
