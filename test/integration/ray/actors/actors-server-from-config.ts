/**
 * `lakeray up` as the actors tests start it: the real server (`startServer`: registry, engine,
 * HTTP API, driver poll route, reports route) from a config with one actors-mode executor on
 * `address`, its pools as lakeray.yaml writes them, scripts from this folder's fixtures.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../../src/main.ts';
import { tempDir } from '../../../helpers/server-process.ts';
import { FIXTURES } from './start-driver.ts';

export function startActorsServer(name: string, address: string, pools: Record<string, unknown>[]): Promise<RunningServer> {
  const dir = tempDir();
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [FIXTURES],
      data_roots: [join(dir, 'data')],
      executors: { [name]: { kind: 'ray', mode: 'actors', address, grace_ms: 1000, pools } },
    },
    dir,
    {},
  );
  return startServer({ config, port: 0, logLevel: 'silent' });
}
