/**
 * Validates rendered objects as an API server would on `kubectl apply` (field validation
 * Strict, the kubectl default): custom resources against the openAPIV3Schema of their real CRD
 * (contracts/crds, KubeRay v1.7.0 and KEDA v2.20), built-in kinds against Kubernetes' own
 * OpenAPI schemas; both vendored in schemas/ (README.md says from where). An unknown field is an error, as it is for the API server,
 * except where a schema keeps unknown fields (x-kubernetes-preserve-unknown-fields) or is an
 * open map (additionalProperties). What this cannot check: CEL rules (x-kubernetes-validations)
 * and admission webhooks (KubeRay's and KEDA's); the topology test checks the ones that matter.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import { REPO, type K8sObject } from './render.ts';

export const K8S_SCHEMAS = join(import.meta.dirname, 'schemas', 'kubernetes-1.32.json');
export const CRD_SCHEMAS = join(import.meta.dirname, 'schemas', 'crds.json');
/** The shared contracts' CRDs, where this checkout has them beside it (main: ../shared; a worktree: ../../shared). */
export const CONTRACT_CRDS = [join(REPO, '..', 'shared', 'contracts', 'crds'), join(REPO, '..', '..', 'shared', 'contracts', 'crds')].find((d) => existsSync(d));

type Schema = Record<string, unknown>;
const K8S_REF = '#/components/schemas/';

/** Kubernetes prunes or rejects fields a structural schema does not name: close every object that names its fields. */
function closeObjects(s: unknown, refPrefix: [string, string] | null): unknown {
  if (Array.isArray(s)) return s.map((x) => closeObjects(x, refPrefix));
  if (s === null || typeof s !== 'object') return s;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === '$ref' && typeof v === 'string' && refPrefix && v.startsWith(refPrefix[0])) out[k] = refPrefix[1] + v.slice(refPrefix[0].length);
    else if (k === 'properties' && v !== null && typeof v === 'object') out[k] = Object.fromEntries(Object.entries(v).map(([p, x]) => [p, closeObjects(x, refPrefix)]));
    else out[k] = closeObjects(v, refPrefix);
  }
  if (out.properties !== undefined && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  return out;
}

const xKeywords = (s: unknown, into: Set<string>): Set<string> => {
  if (Array.isArray(s)) for (const x of s) xKeywords(x, into);
  else if (s !== null && typeof s === 'object')
    for (const [k, v] of Object.entries(s)) {
      if (k.startsWith('x-kubernetes-')) into.add(k);
      xKeywords(v, into);
    }
  return into;
};

const gvk = (apiVersion: string, kind: string) => `${apiVersion}/${kind}`;

export class ManifestValidator {
  private readonly byKind = new Map<string, ValidateFunction>();
  private readonly objectMeta: ValidateFunction;

  constructor() {
    const k8s = JSON.parse(readFileSync(K8S_SCHEMAS, 'utf8')) as { components: { schemas: Record<string, Schema> } };
    const crds = JSON.parse(readFileSync(CRD_SCHEMAS, 'utf8')) as Record<string, Schema>;
    const keywords = xKeywords([k8s, crds], new Set());
    const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, keywords: [...keywords] });
    ajvFormats.default(ajv); // a CommonJS module: its function is on .default under ESM
    // Kubernetes' own formats with no check of their own beyond the type (int-or-string is
    // checked by its oneOf; the CRDs' generic formats are not validated by the API server).
    for (const f of ['int-or-string', 'quantity']) ajv.addFormat(f, true);

    ajv.addSchema({ $id: 'k8s', definitions: closeObjects(k8s.components.schemas, [K8S_REF, 'k8s#/definitions/']) as Schema });
    for (const [name, schema] of Object.entries(k8s.components.schemas)) {
      const kinds = (schema['x-kubernetes-group-version-kind'] ?? []) as { group: string; version: string; kind: string }[];
      for (const k of kinds) {
        const apiVersion = k.group === '' ? k.version : `${k.group}/${k.version}`;
        this.byKind.set(gvk(apiVersion, k.kind), ajv.compile({ $ref: `k8s#/definitions/${name}` }));
      }
    }
    this.objectMeta = ajv.getSchema('k8s#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta')!;
    for (const [key, schema] of Object.entries(crds)) this.byKind.set(key, ajv.compile(closeObjects(schema, null) as Schema));
  }

  /** The kinds this validator knows (apiVersion/kind). */
  kinds(): string[] {
    return [...this.byKind.keys()].sort();
  }

  /** Every problem of one object, as `<path> <message>` lines; [] when valid. */
  validate(obj: K8sObject): string[] {
    const fn = this.byKind.get(gvk(obj.apiVersion, obj.kind));
    if (!fn) return [`no schema for ${obj.apiVersion} ${obj.kind} (neither a vendored Kubernetes kind nor a vendored CRD: test/deploy/schemas)`];
    const errors: string[] = [];
    if (!fn(obj)) errors.push(...fn.errors!.map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`));
    // A CRD's schema says only `metadata: object`; the API server checks it as an ObjectMeta.
    if (!this.objectMeta(obj.metadata)) errors.push(...this.objectMeta.errors!.map((e) => `/metadata${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`));
    return [...new Set(errors)]; // built-in kinds have their metadata checked twice
  }
}
