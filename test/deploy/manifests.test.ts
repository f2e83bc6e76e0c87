/**
 * Every overlay of deploy/ renders with `kubectl kustomize`, and every object it renders is valid
 * against its real schema (schema-validator.ts): what `kubectl apply -k` would send, checked the
 * way the API server checks it. The validator itself is shown to refuse the mistakes it exists
 * for, so a pass means something.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crdSchemas } from './schemas/extract.ts';
import { find, overlays, renderOverlay, type K8sObject } from './render.ts';
import { CONTRACT_CRDS, CRD_SCHEMAS, ManifestValidator } from './schema-validator.ts';

const validator = new ManifestValidator();
const rendered = new Map(overlays().map((o) => [o, renderOverlay(o)]));

describe('deploy/ manifests', () => {
  it('has the overlays docs/operations.md describes', () => {
    expect([...rendered.keys()]).toEqual(['external', 'in-cluster']);
  });

  for (const [overlay, objects] of rendered) {
    it(`${overlay}: every object is valid against its Kubernetes or CRD schema`, () => {
      const problems = objects.flatMap((o) => validator.validate(o).map((e) => `${o.kind}/${o.metadata.name}${e}`));
      expect(problems).toEqual([]);
      expect(objects.length).toBeGreaterThan(10);
    });

    it(`${overlay}: every namespaced object lands in the overlay's namespace`, () => {
      const ns = objects.find((o) => o.kind === 'Namespace')?.metadata.name;
      expect(ns).toBe('lakeray');
      for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(ns);
    });
  }
});

describe('the schema validator', () => {
  const objects = rendered.get('in-cluster')!;
  const changed = (kind: string, name: string, change: (o: Record<string, any>) => void): K8sObject => {
    const o = structuredClone(find(objects, kind, name));
    change(o);
    return o;
  };

  it('refuses a misspelt field of a custom resource (KubeRay prunes it silently: the idle timeout would be lost)', () => {
    const o = changed('RayCluster', 'lakeray-ray', (r) => {
      r.spec.autoscalerOptions.idleTimeoutSecond = 600;
    });
    expect(validator.validate(o)).toEqual([expect.stringContaining('idleTimeoutSecond')]);
  });

  it("refuses a field deep in a CRD's pod template and a missing required field", () => {
    const pod = changed('RayCluster', 'lakeray-ray', (r) => {
      r.spec.workerGroupSpecs[0].template.spec.containers[0].imagee = 'x';
    });
    expect(validator.validate(pod)).toEqual([expect.stringContaining('/spec/workerGroupSpecs/0/template/spec/containers/0')]);
    const service = changed('RayService', 'lakeray-serve', (r) => {
      delete r.spec.rayClusterConfig.headGroupSpec;
    });
    expect(validator.validate(service)).toEqual([expect.stringContaining("required property 'headGroupSpec'")]);
  });

  it('refuses a KEDA trigger metadata value that is not a string', () => {
    const o = changed('ScaledObject', 'lakeray-worker', (s) => {
      s.spec.triggers[0].metadata.targetValue = 4;
    });
    expect(validator.validate(o)).toEqual([expect.stringContaining('/spec/triggers/0/metadata/targetValue must be string')]);
  });

  it('refuses wrong types and unknown fields in built-in kinds, down to a StatefulSet claim template', () => {
    const replicas = changed('Deployment', 'lakeray-api', (d) => {
      d.spec.replicas = '2';
    });
    expect(validator.validate(replicas)).toEqual(['/spec/replicas must be integer {"type":"integer"}']);
    const claim = changed('StatefulSet', 'lakeray-postgres', (s) => {
      s.spec.volumeClaimTemplates[0].spec.resources.request = {};
    });
    expect(validator.validate(claim)).toEqual([expect.stringContaining('"additionalProperty":"request"')]);
  });

  it('checks the metadata of custom resources as an ObjectMeta', () => {
    const o = changed('RayCluster', 'lakeray-ray', (r) => {
      r.metadata.labels = { replicas: 2 };
    });
    expect(validator.validate(o)).toEqual(['/metadata/labels/replicas must be string {"type":"string"}']);
  });

  it('knows no kind it has no schema for', () => {
    const o = { apiVersion: 'ray.io/v1alpha1', kind: 'RayCluster', metadata: { name: 'x' } };
    expect(validator.validate(o)).toEqual([expect.stringContaining('no schema for ray.io/v1alpha1 RayCluster')]);
  });
});

describe.skipIf(CONTRACT_CRDS === undefined)('the vendored CRD schemas', () => {
  it('are the shared contracts’ CRDs (schemas/extract.ts run on them gives the same file)', () => {
    expect(crdSchemas(CONTRACT_CRDS!)).toEqual(JSON.parse(readFileSync(CRD_SCHEMAS, 'utf8')));
  });
});
