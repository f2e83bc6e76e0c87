/**
 * Where a deployment's replicas come from. A Deployment (deployment.ts) holds one backend and
 * only this interface of it:
 * - a *replica pool* (`managesScale: false`, LocalBackend) starts and stops single replicas as
 *   the deployment's autoscaler asks;
 * - a *self-scaling* backend (`managesScale: true`, RayBackend) is told the whole spec and sizes
 *   itself (Ray Serve's autoscaler); the deployment's sizing loop leaves it alone and its status
 *   is the backend's own.
 * Both hand the deployment ready `Replica`s (with the model's signature read) through
 * `BackendEvents.ready`, and say when one is gone.
 */
import type { DeploymentSpec } from '../deployment-spec.ts';
import type { ModelSignature, Replica, ReplicaState } from '../types.ts';

/** A replica the gateway may use, and that the deployment closes when it leaves. */
export interface ServedReplica extends Replica {
  close(): Promise<void>;
}

export interface BackendEvents {
  /** A replica is ready; `signature` is the model's, as the replica read it. */
  ready(replica: ServedReplica, signature: ModelSignature): void;
  /** The replica ended (or could not start); `error` says why when it failed. */
  gone(id: string, error: { code: string; message: string } | null): void;
}

/** One replica as `replica_status` shows it (load is added from the gateway's stats). */
export interface BackendReplicaView {
  id: string;
  task_id: string | null;
  state: ReplicaState;
  gpus: string[];
  started_at: number;
}

/** How the deployment's gateway should send to this backend's replicas. */
export interface GatewayMode {
  /** false: the backend batches (Serve's @serve.batch); the gateway sends each request alone. */
  batching: boolean;
  /** Batches in flight to one replica at once. */
  maxConcurrentBatches: number;
}

export type BackendStatus = 'starting' | 'ready' | 'scaled_to_zero' | 'failed';

interface BackendBase {
  readonly gatewayMode: GatewayMode;
  /** Replicas starting or running (not those asked to stop). */
  readonly active: number;
  list(): BackendReplicaView[];
  /** The spec changed (PATCH): a pool plans new replicas with it, a self-scaling backend re-deploys. */
  apply(spec: DeploymentSpec): void;
  /** The deployment is deleted: everything it runs goes. */
  remove(): Promise<void>;
  /** The server stops: let go of what this process holds (a self-scaling backend's app stays, to be re-deployed at the next start). */
  close(): Promise<void>;
}

export interface ReplicaPoolBackend extends BackendBase {
  readonly managesScale: false;
  /** Start one replica; it is followed until ready or gone. */
  start(): Promise<string>;
  /** Being drained: it no longer counts as active (stop() follows once drained). */
  markDraining(id: string): void;
  stop(id: string): Promise<void>;
}

export interface SelfScalingBackend extends BackendBase {
  readonly managesScale: true;
  /** The status of the whole deployment, as the backend knows it, and why it failed. */
  health(): { status: BackendStatus; error: string | null };
}

export type ServingBackend = ReplicaPoolBackend | SelfScalingBackend;
