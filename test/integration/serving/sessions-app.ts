/**
 * The real app (buildApp on the real engine, test/integration/api/platform.ts) with streaming
 * sessions over real Gateways of in-test stateful replicas (y = h + x, hn = h + x), and seed
 * 003's routes over the deployment "seed".
 */
import type { Seed003Host } from '../../../src/api/routes/seed003.ts';
import { SessionManager, type SessionManagerOptions } from '../../../src/serving/sessions.ts';
import type { BatchSettings } from '../../../src/serving/types.ts';
import { listen } from '../api/helpers.ts';
import { type Platform, setup } from '../api/platform.ts';
import { AccumulatingReplica, TestHost } from '../../unit/serving/sessions-fixture.ts';

export interface SessionsApp {
  p: Platform;
  base: string;
  host: TestHost;
  sessions: SessionManager;
  replica: AccumulatingReplica;
  close(): Promise<void>;
}

export async function startSessionsApp(opts: Partial<SessionManagerOptions> = {}, seed003Deployment?: string): Promise<SessionsApp> {
  const host = new TestHost();
  const replica = new AccumulatingReplica('r1');
  host.add('seed', { routing: { 'English -> Chinese': '0', 'English -> Italian': '1' } }).addReplica(replica);
  const sessions = new SessionManager({ host, ...opts });
  const seedHost: Seed003Host = {
    deployments: (tenant) => (tenant === host.tenant ? [...host.deployments.keys()] : []),
    stats: (tenant, name) => host.gateway(tenant, name)?.stats(),
    reconfigure: async (tenant, name, settings: Partial<BatchSettings>) => {
      const gateway = host.gateway(tenant, name);
      if (!gateway) throw new Error(`no deployment ${name}`);
      gateway.reconfigure(settings);
      return gateway.stats().settings;
    },
  };
  const p = await setup({ sessions, seed003: { host: seedHost, deployment: seed003Deployment } });
  const base = `http://${await listen(p.app)}`;
  return {
    p, base, host, sessions, replica,
    close: async () => {
      sessions.close();
      host.close();
      await p.close();
    },
  };
}
