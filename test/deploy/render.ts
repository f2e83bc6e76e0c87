/**
 * Renders deploy/ with the real `kubectl kustomize` and parses the result: what `kubectl apply -k`
 * would send to a cluster.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO = resolve(import.meta.dirname, '../..');
export const DEPLOY = join(REPO, 'deploy');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

/** Every overlay under deploy/overlays: a new one is rendered and validated without touching the tests. */
export const overlays = (): string[] =>
  readdirSync(join(DEPLOY, 'overlays'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

export function render(dir: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return parseAllDocuments(out).map((doc) => {
    if (doc.errors.length > 0) throw doc.errors[0];
    return doc.toJS() as K8sObject;
  });
}

export const renderOverlay = (name: string): K8sObject[] => render(join(DEPLOY, 'overlays', name));

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in [${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}]`);
  return found;
}

/** A ConfigMap or Secret made by a generator has a hash suffix: match on the name before it. */
export function findGenerated(objects: K8sObject[], kind: 'ConfigMap' | 'Secret', name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && (o.metadata.name === name || new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name)));
}
