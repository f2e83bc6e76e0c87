/**
 * What issue 14 §5 asks of the deployment, checked on every rendered overlay, plus the rules of
 * KubeRay's and KEDA's webhooks and CEL that schema validation cannot evaluate, and the places
 * where two objects must agree (a URL and the Service it names, the Ray executor's bound and the
 * RayCluster it describes, the RayService's app and Lakeray's own Serve config).
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { serveApplication } from '../../src/serving/ray/serve-config.ts';
import { find, findGenerated, overlays, renderOverlay, type K8sObject } from './render.ts';

/** Secrets an overlay expects the operator to create (docs/operations.md); all others must be rendered. */
const OPERATOR_SECRETS: Record<string, string[]> = { external: ['lakeray-datastores', 'lakeray-task-token'], 'in-cluster': [] };

type Container = { name: string; image: string; args?: string[]; ports?: { name?: string; containerPort: number }[]; [k: string]: any };
const podSpec = (o: K8sObject): any => (o as any).spec.template.spec;
const containers = (o: K8sObject): Container[] => podSpec(o).containers;
const lakerayDeployments = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/name'] === 'lakeray');
const spec = (o: K8sObject): any => (o as any).spec;

/** The RayCluster's bound as Ray counts it: per worker group, maxReplicas × the pod's limits (num-cpus overrides). */
function rayClusterMaximum(cluster: any): { cpu: number; memory_mb: number; gpu: number } {
  const sum = { cpu: 0, memory_mb: 0, gpu: 0 };
  const pod = (g: any, replicas: number) => {
    const limits = g.template.spec.containers[0].resources.limits;
    sum.cpu += replicas * Number(g.rayStartParams?.['num-cpus'] ?? limits.cpu);
    sum.gpu += replicas * Number(limits['nvidia.com/gpu'] ?? 0);
    sum.memory_mb += replicas * Number(/^(\d+)Gi$/.exec(limits.memory)![1]) * 1024;
  };
  pod(cluster.spec.headGroupSpec, 1);
  for (const g of cluster.spec.workerGroupSpecs) pod(g, g.maxReplicas);
  return sum;
}

const serviceAt = (objects: K8sObject[], url: string, namespace: string) => {
  const u = new URL(url);
  const [name, ns] = u.hostname.split('.');
  expect(ns ?? namespace, `${url}: namespace`).toBe(namespace);
  const service = find(objects, 'Service', name!);
  expect(spec(service).ports.map((p: any) => p.port), `${url}: port`).toContain(Number(u.port));
  return service;
};

for (const overlay of overlays()) {
  describe(`deploy/overlays/${overlay}`, () => {
    const objects = renderOverlay(overlay);
    const ns = 'lakeray';
    const config = findGenerated(objects, 'ConfigMap', 'lakeray-config')!;
    const files = Object.fromEntries(Object.entries((config as any).data as Record<string, string>).map(([k, v]) => [k, parse(v)]));

    it('runs N API replicas and 2 schedulers, each process with its role', () => {
      const api = find(objects, 'Deployment', 'lakeray-api');
      expect(spec(api).replicas).toBeGreaterThanOrEqual(2);
      expect(containers(api)[0]!.args).toEqual(['up', '--role', 'api']);
      const scheduler = find(objects, 'Deployment', 'lakeray-scheduler');
      expect(spec(scheduler).replicas).toBe(2);
      expect(containers(scheduler)[0]!.args).toEqual(['up', '--role', 'scheduler']);
      const worker = find(objects, 'Deployment', 'lakeray-worker');
      expect(containers(worker)[0]!.args).toEqual(['--config', '/etc/lakeray/worker.yaml', 'up', '--role', 'scheduler']);
      // KEDA owns the workers' replica count: a `replicas` here would reset it on every apply.
      expect(spec(worker).replicas).toBeUndefined();
    });

    it('probes every Lakeray container on /health (alive) and /ready (can serve), on a port it opens', () => {
      for (const d of lakerayDeployments(objects)) {
        const c = containers(d)[0]!;
        expect([c.startupProbe.httpGet.path, c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path], d.metadata.name).toEqual(['/health', '/health', '/ready']);
        for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) expect(c.ports!.map((p) => p.name)).toContain(probe.httpGet.port);
        expect(c.ports).toEqual([{ name: 'http', containerPort: files['lakeray.yaml'].server.port }]);
      }
    });

    it('gives every process the config file it names, the store and bus URLs and the shared task-token key from Secrets', () => {
      for (const d of lakerayDeployments(objects)) {
        const c = containers(d)[0]!;
        const mount = c.volumeMounts.find((m: any) => m.name === 'config');
        const volume = podSpec(d).volumes.find((v: any) => v.name === 'config');
        expect(volume.configMap.name).toBe(config.metadata.name);
        const path = c.args!.includes('--config') ? c.args![c.args!.indexOf('--config') + 1]! : c.env.find((e: any) => e.name === 'LAKERAY_CONFIG').value;
        expect(path.startsWith(`${mount.mountPath}/`)).toBe(true);
        expect(Object.keys(files)).toContain(path.slice(mount.mountPath.length + 1));
        const fromSecret = c.env.filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => e.name);
        expect(fromSecret).toEqual(['LAKERAY_STORE_URL', 'LAKERAY_EVENTS_URL', 'LAKERAY_TASK_TOKEN_KEY']);
      }
    });

    it('renders every Secret and ConfigMap a pod needs, but the optional ones and those the operator creates', () => {
      const needed = new Set<string>();
      for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
        const pod = podSpec(o);
        for (const c of pod.containers) {
          for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef && !e.valueFrom.secretKeyRef.optional) needed.add(`Secret/${e.valueFrom.secretKeyRef.name}`);
          for (const e of c.envFrom ?? []) if (e.secretRef && !e.secretRef.optional) needed.add(`Secret/${e.secretRef.name}`);
        }
        for (const v of pod.volumes ?? []) if (v.configMap) needed.add(`ConfigMap/${v.configMap.name}`);
      }
      const rendered = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
      const missing = [...needed].filter((n) => !rendered.has(n));
      expect(missing.sort()).toEqual(OPERATOR_SECRETS[overlay]!.map((s) => `Secret/${s}`));
    });

    it('lets no scheduler-role pod own a local executor bigger than its container', () => {
      const quantity = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));
      const mib = (q: string) => Number(/^(\d+)Gi$/.exec(q)![1]) * 1024;
      for (const d of lakerayDeployments(objects)) {
        const c = containers(d)[0]!;
        if (!c.args!.includes('scheduler')) continue;
        const file = c.args!.includes('--config') ? c.args![c.args!.indexOf('--config') + 1]!.split('/').at(-1)! : 'lakeray.yaml';
        const local = files[file].executors.local;
        // The local executor's default is the node's CPUs and 80% of its memory: far more than a pod has.
        expect(local, `${d.metadata.name}: ${file} bounds executors.local`).toBeDefined();
        expect(local.cpu, d.metadata.name).toBeLessThanOrEqual(quantity(c.resources.requests.cpu));
        // The process itself needs room beside its tasks.
        expect(local.memory_mb + 512, d.metadata.name).toBeLessThanOrEqual(mib(c.resources.limits.memory));
      }
    });

    it('has a RayCluster that autoscales in-tree, with a GPU group from 0 pods and a 10-minute idle timeout', () => {
      const cluster = spec(find(objects, 'RayCluster', 'lakeray-ray'));
      expect(cluster.enableInTreeAutoscaling).toBe(true);
      expect(cluster.autoscalerOptions.idleTimeoutSeconds).toBe(600);
      const gpu = cluster.workerGroupSpecs.filter((g: any) => Number(g.template.spec.containers[0].resources.limits['nvidia.com/gpu'] ?? 0) > 0);
      expect(gpu.map((g: any) => g.minReplicas)).toEqual([0]);
      for (const g of cluster.workerGroupSpecs) {
        // KubeRay's validation: min ≤ max, and a per-group idle timeout only with autoscaler v2.
        expect(g.minReplicas).toBeLessThanOrEqual(g.maxReplicas);
        if (g.idleTimeoutSeconds !== undefined) expect(cluster.autoscalerOptions.version).toBe('v2');
      }
      // The seed's annotation does not exist in KubeRay (contracts/CONTRACTS.md §7.8): never rely on it.
      expect(JSON.stringify(objects)).not.toContain('worker-group-idle-timeout-seconds');
    });

    it("points Lakeray's Ray executor at the RayCluster's dashboard, bounded by what its autoscaler can reach", () => {
      const cluster = find(objects, 'RayCluster', 'lakeray-ray');
      const ray = files['lakeray.yaml'].executors.ray;
      expect(ray.kind).toBe('ray');
      const dashboard = new URL(ray.address);
      expect(dashboard.hostname).toBe(`${cluster.metadata.name}-head-svc`); // KubeRay's head Service name
      expect(containers({ ...cluster, spec: { template: spec(cluster).headGroupSpec.template } } as K8sObject)[0]!.ports).toContainEqual({ name: 'dashboard', containerPort: Number(dashboard.port) });
      expect(ray.max_resources).toEqual(rayClusterMaximum(cluster));
      serviceAt(objects, ray.api_url, ns);
      // Workers serve their node's local executor only: no second owner contends for the Ray executor.
      expect(Object.keys(files['worker.yaml'].executors ?? {})).toEqual(['local']);
    });

    it('scales the workers with KEDA from the queue depth on the API’s /metrics (never the RayCluster: no /scale)', () => {
      const so = spec(find(objects, 'ScaledObject', 'lakeray-worker'));
      expect(['Deployment', 'StatefulSet']).toContain(so.scaleTargetRef.kind);
      expect(find(objects, so.scaleTargetRef.kind, so.scaleTargetRef.name).metadata.name).toBe('lakeray-worker');
      expect(so.minReplicaCount).toBeLessThanOrEqual(so.maxReplicaCount); // KEDA's CEL rule
      const [trigger] = so.triggers;
      expect(trigger.type).toBe('metrics-api');
      expect(trigger.metadata.format).toBe('prometheus');
      expect(new URL(trigger.metadata.url).pathname).toBe('/metrics');
      const api = serviceAt(objects, trigger.metadata.url, ns);
      expect(spec(api).selector).toEqual(spec(find(objects, 'Deployment', 'lakeray-api')).selector.matchLabels);
    });

    it("serves with a RayService whose application is what Lakeray's own `backend: ray` would deploy", () => {
      const rayService = spec(find(objects, 'RayService', 'lakeray-serve'));
      const serve = parse(rayService.serveConfigV2) as { applications: any[] };
      expect(serve.applications).toHaveLength(1);
      const app = serve.applications[0];
      const d = app.deployments[0];
      const expected = serveApplication({
        deployment: app.name.replace(/^lakeray-/, ''),
        model: app.args.model,
        version: app.args.version,
        lakerayUrl: app.args.lakeray_url,
        workingDir: 'unused: the lakeray-ray-node image carries runtimes/serving',
        replicas: { min: d.autoscaling_config.min_replicas, max: d.autoscaling_config.max_replicas, idle_timeout_s: d.autoscaling_config.downscale_to_zero_delay_s },
        resources: { cpu: d.ray_actor_options.num_cpus, gpu: d.ray_actor_options.num_gpus },
        max_batch_size: d.user_config.max_batch_size,
        batch_timeout_ms: d.user_config.batch_wait_timeout_s * 1000,
        enable_dynamic_batching: true,
      });
      const { runtime_env: _carriedByTheImage, ...rest } = expected;
      expect(app).toEqual(rest);
      serviceAt(objects, app.args.lakeray_url, ns);
      expect(rayService.rayClusterConfig.enableInTreeAutoscaling).toBe(true);
    });

    if (overlay === 'in-cluster') {
      it('points the store and bus URLs at the in-cluster PostgreSQL and Redis, with their credentials', () => {
        const urls = (findGenerated(objects, 'Secret', 'lakeray-datastores') as any).data as Record<string, string>;
        const pg = Object.fromEntries(Object.entries((findGenerated(objects, 'Secret', 'lakeray-postgres') as any).data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
        const store = new URL(Buffer.from(urls['store-url']!, 'base64').toString());
        expect(store.protocol).toBe('postgres:');
        expect([store.username, store.password, store.pathname]).toEqual([pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, `/${pg.POSTGRES_DB}`]);
        serviceAt(objects, store.href, ns);
        expect(store.hostname).toBe(find(objects, 'StatefulSet', 'lakeray-postgres').metadata.name);
        const events = new URL(Buffer.from(urls['events-url']!, 'base64').toString());
        expect(events.protocol).toBe('redis:');
        serviceAt(objects, events.href, ns);
      });
    }
  });
}
