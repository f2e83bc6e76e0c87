/**
 * The config files deploy/ gives its processes parse with Lakeray's own config schema, with the
 * environment their pods set (the datastores' URLs from the Secret), and say what
 * docs/operations.md says they do: PostgreSQL store, Redis bus, the lake and artifacts on the
 * object store, absolute paths (a relative one would resolve against /etc/lakeray).
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import { findGenerated, overlays, renderOverlay } from './render.ts';

/** What the external overlay's operator puts in Secret lakeray-datastores (docs/operations.md). */
const EXTERNAL_URLS = { 'store-url': 'postgres://lakeray:secret@db.example.com:5432/lakeray', 'events-url': 'redis://:secret@redis.example.com:6379' };

for (const overlay of overlays()) {
  describe(`deploy/overlays/${overlay}: the processes' config`, () => {
    const objects = renderOverlay(overlay);
    const files = (findGenerated(objects, 'ConfigMap', 'lakeray-config') as unknown as { data: Record<string, string> }).data;
    const secret = findGenerated(objects, 'Secret', 'lakeray-datastores') as unknown as { data: Record<string, string> } | undefined;
    const urls: Record<string, string> = secret ? Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])) : EXTERNAL_URLS;
    const env = { LAKERAY_STORE_URL: urls['store-url'], LAKERAY_EVENTS_URL: urls['events-url'] };

    for (const [name, text] of Object.entries(files)) {
      it(`${name} parses, with the store and bus from the Secret and nothing written into the image`, () => {
        const config = parseConfig(parse(text), '/etc/lakeray', env);
        expect(config.store).toMatchObject({ kind: 'postgres', url: urls['store-url'] });
        expect(config.events).toMatchObject({ kind: 'redis', url: urls['events-url'] });
        expect(config.lake.root.startsWith('s3://')).toBe(true);
        expect(config.artifacts.kind).toBe('s3');
        for (const p of [config.state_dir, ...config.data_roots]) expect(p.startsWith('/var/lib/lakeray')).toBe(true); // the pod's writable volume
        expect(config.script_roots).toEqual(['/app/examples']); // where the image has them
        expect(config.server.host).toBe('0.0.0.0');
      });
    }
  });
}
