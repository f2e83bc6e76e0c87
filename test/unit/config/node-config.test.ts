import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';

describe('node config', () => {
  it('names the node after the host by default; LAKERAY_NODE_NAME (a pod name from the downward API) overrides the file', () => {
    expect(parseConfig({}, '/base').node.name).toBe(hostname());
    expect(parseConfig({ node: { name: 'from-file' } }, '/base').node.name).toBe('from-file');
    expect(parseConfig({ node: { name: 'from-file' } }, '/base', { LAKERAY_NODE_NAME: 'lakeray-worker-7d9f-x2x' }).node.name).toBe('lakeray-worker-7d9f-x2x');
  });

  it('refuses a node name that cannot follow the @ of local@<node>', () => {
    expect(() => parseConfig({}, '/base', { LAKERAY_NODE_NAME: 'a b' })).toThrow(/node\.name/);
    expect(() => parseConfig({ node: { name: 'x@y' } }, '/base')).toThrow(/node\.name/);
  });
});
