/** What the server says at start about the address it binds and the keys it has (auth/binding.ts). */
import { describe, expect, it } from 'vitest';
import { checkAuthBinding, isLoopbackHost } from '../../../src/auth/binding.ts';
import { revokeApiKey } from '../../../src/auth/keys.ts';
import { DEFAULT_AUTH_CONFIG } from '../../../src/config/auth-schema.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import { createKeyWithId } from '../../helpers/keys.ts';

function capture() {
  const lines: { level: 'info' | 'warn'; msg: string }[] = [];
  return { lines, log: { info: (_o: object, msg: string) => lines.push({ level: 'info', msg }), warn: (_o: object, msg: string) => lines.push({ level: 'warn', msg }) } };
}

describe('auth binding', () => {
  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.3.2.1', '::1', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', 'lakeray.internal', '::ffff:10.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('says nothing for auto on loopback; warns off loopback until a live key exists; warns loudly for none', async () => {
    const store = SqliteTaskStore.open(':memory:');
    try {
      const quiet = capture();
      await checkAuthBinding(DEFAULT_AUTH_CONFIG, '127.0.0.1', store.keys, quiet.log);
      expect(quiet.lines).toEqual([]);

      const noKeys = capture();
      await checkAuthBinding(DEFAULT_AUTH_CONFIG, '0.0.0.0', store.keys, noKeys.log);
      expect(noKeys.lines.map((l) => l.level)).toEqual(['info', 'warn']);
      expect(noKeys.lines[1]!.msg).toMatch(/lakeray keys create/);

      const key = await createKeyWithId(store, { tenant: 'default', role: 'admin' });
      const withKey = capture();
      await checkAuthBinding({ ...DEFAULT_AUTH_CONFIG, mode: 'keys' }, '127.0.0.1', store.keys, withKey.log);
      expect(withKey.lines.map((l) => l.level)).toEqual(['info']);
      await revokeApiKey(store, { tenant: 'default' }, key.id);
      const revoked = capture();
      await checkAuthBinding(DEFAULT_AUTH_CONFIG, '0.0.0.0', store.keys, revoked.log);
      expect(revoked.lines.map((l) => l.level)).toEqual(['info', 'warn']);

      const none = capture();
      await checkAuthBinding({ ...DEFAULT_AUTH_CONFIG, mode: 'none' }, '0.0.0.0', store.keys, none.log);
      expect(none.lines).toEqual([{ level: 'warn', msg: expect.stringMatching(/anyone who reaches this server/) }]);
    } finally {
      store.close();
    }
  });
});
