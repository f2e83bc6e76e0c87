/**
 * The `ray` backend of a deployment: its Serve application deployed, reconfigured and deleted
 * through Serve's REST API, and reached through one RayServeReplica. The app's code
 * (runtimes/serving) reaches the cluster as a gcs:// working_dir package, uploaded once per
 * content like a Ray job's script folder (executors/ray/package.ts), so a remote cluster works
 * as well as a head on this machine.
 */
import { PackageUploader, packWorkingDir, type WorkingDirPackage } from '../../executors/ray/package.ts';
import type { RayJobsClient } from '../../executors/ray/jobs-client.ts';
import { RayServeReplica } from './ray-serve-replica.ts';
import { serveApplication, serveAppName, serveRoutePrefix, type RayServeAppSpec } from './serve-config.ts';
import { serveReplicaStatus, type RayServeClient, type ServeAppDetails, type ServeReplicaStatus } from './serve-client.ts';

export type RayServeDeploySpec = Omit<RayServeAppSpec, 'workingDir'>;

export class RayServeBackend {
  private readonly uploader: PackageUploader;
  private pkg: Promise<WorkingDirPackage> | undefined;

  constructor(
    private readonly serve: RayServeClient,
    jobs: Pick<RayJobsClient, 'packageExists' | 'uploadPackage'>,
    /** runtimes/serving: the folder holding ray_serve_app.py */
    private readonly appDir: string,
  ) {
    this.uploader = new PackageUploader(jobs);
  }

  /** Deploy or change the deployment's application; resolves once Serve reports it RUNNING. */
  async deploy(spec: RayServeDeploySpec, timeoutMs = 180_000): Promise<void> {
    await this.put(spec);
    await this.serve.waitFor(serveAppName(spec.deployment), { timeoutMs });
  }

  /** Deploy or change the deployment's application; resolves once Serve took the config (it deploys on its own). */
  async put(spec: RayServeDeploySpec): Promise<void> {
    this.pkg ??= packWorkingDir(this.appDir, { exclude: ['__pycache__', 'node_modules', '.git'] });
    const { uri } = await this.uploader.ensure(await this.pkg);
    await this.serve.deploy(serveApplication({ ...spec, workingDir: uri }));
  }

  /** The deployment's application as Serve reports it, null when there is none. */
  application(deployment: string): Promise<ServeAppDetails | null> {
    return this.serve.application(serveAppName(deployment));
  }

  /** A Replica for the gateway: the application's route on Serve's proxy. */
  async replica(deployment: string, connections?: number): Promise<RayServeReplica> {
    return new RayServeReplica({ id: `ray-serve:${deployment}`, proxyUrl: await this.serve.proxyUrl(), routePrefix: serveRoutePrefix(deployment), connections });
  }

  /** Serve's replicas of the deployment (empty when the application is gone). */
  async replicaStatus(deployment: string): Promise<ServeReplicaStatus[]> {
    const app = await this.serve.application(serveAppName(deployment));
    return app ? serveReplicaStatus(app) : [];
  }

  /** Delete the application; resolves once Serve no longer lists it. */
  async remove(deployment: string, timeoutMs = 60_000): Promise<void> {
    if (await this.serve.remove(serveAppName(deployment))) await this.serve.waitGone(serveAppName(deployment), timeoutMs);
  }
}
