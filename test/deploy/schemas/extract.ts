/**
 * Cuts the schemas the deploy tests validate against down to what deploy/ uses, without
 * descriptions, so the vendored files stay small (README.md says where the inputs come from):
 * - Kubernetes' own OpenAPI v3 documents (api/openapi-spec/v3 of kubernetes/kubernetes): the
 *   kinds our manifests use and every definition they reach → kubernetes-<version>.json;
 * - the CRDs of the operators (contracts/crds): the openAPIV3Schema of every served version of
 *   the kinds in CRD_FILES, storage version only → crds.json (one line: it is large).
 * Run by hand when a version changes:
 *
 *   node --import tsx test/deploy/schemas/extract.ts <dir with api/v1.json, apis/apps/v1.json, …> <version> <crd dir>
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';

/** Group-version documents and the kinds we take from each. */
const WANTED: Record<string, string[]> = {
  'api/v1.json': ['io.k8s.api.core.v1.ConfigMap', 'io.k8s.api.core.v1.Namespace', 'io.k8s.api.core.v1.Secret', 'io.k8s.api.core.v1.Service', 'io.k8s.api.core.v1.ServiceAccount'],
  'apis/apps/v1.json': ['io.k8s.api.apps.v1.Deployment', 'io.k8s.api.apps.v1.StatefulSet'],
  'apis/policy/v1.json': ['io.k8s.api.policy.v1.PodDisruptionBudget'],
};
/** Custom resources are checked against their CRD, but their metadata is a real ObjectMeta. */
const ALSO = ['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const REF = '#/components/schemas/';

const stripDescriptions = (v: Json): Json => {
  if (Array.isArray(v)) return v.map(stripDescriptions);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'description').map(([k, x]) => [k, stripDescriptions(x)]));
};

const refsOf = (v: Json, out: Set<string>): Set<string> => {
  if (Array.isArray(v)) for (const x of v) refsOf(x, out);
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string' && x.startsWith(REF)) out.add(x.slice(REF.length));
      else refsOf(x, out);
    }
  }
  return out;
};

/** The CRDs of the kinds deploy/ creates. */
export const CRD_FILES = ['ray.io_rayclusters.yaml', 'ray.io_rayservices.yaml', 'keda.sh_scaledobjects.yaml'];

interface Crd {
  spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: Json } }[] };
}

/** apiVersion/kind → schema, for every served version of the given CRD files. */
export function crdSchemas(crdDir: string): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const file of CRD_FILES) {
    const crd = parse(readFileSync(join(crdDir, file), 'utf8')) as Crd;
    for (const v of crd.spec.versions) if (v.served && v.storage) out[`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`] = stripDescriptions(v.schema.openAPIV3Schema);
  }
  return out;
}

function main(): void {
  const [dir, version, crdDir] = process.argv.slice(2);
  if (!dir || !version || !crdDir) throw new Error('usage: extract.ts <spec dir> <kubernetes version> <crd dir>');
  const schemas: Record<string, Json> = {};
  for (const [file, roots] of Object.entries(WANTED)) {
    const all = (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { components: { schemas: Record<string, Json> } }).components.schemas;
    const todo = [...roots, ...ALSO];
    while (todo.length > 0) {
      const name = todo.pop()!;
      if (name in schemas) continue;
      const schema = all[name];
      if (schema === undefined) throw new Error(`${file}: no schema ${name}`);
      schemas[name] = stripDescriptions(schema);
      todo.push(...refsOf(schema, new Set()));
    }
  }
  const sorted = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(join(import.meta.dirname, `kubernetes-${version}.json`), `${JSON.stringify({ kubernetes: version, components: { schemas: sorted } }, null, 1)}\n`);
  writeFileSync(join(import.meta.dirname, 'crds.json'), `${JSON.stringify(crdSchemas(crdDir))}\n`);
}

// A script when run, a library when the drift test imports crdSchemas.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
