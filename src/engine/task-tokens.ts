/**
 * Task tokens: what a task presents (`Authorization: Bearer`) when it reports over HTTP or
 * uploads its files from another machine. A token names one attempt of one task and is an
 * HMAC-SHA256 of `taskId:attempt` under the server's secret: stateless (nothing stored per
 * task) and valid after a restart, because the secret is kept in the state dir.
 *
 * Threat model: a task's process sees its own token (env LAKERAY_TASK_TOKEN), so it can
 * report for itself only; a token of attempt 1 is refused once attempt 2 runs (the route
 * checks the attempt), and a token never lets one task write to another. Whoever reads the
 * secret file can mint tokens, hence mode 0600.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const VERSION = 'lrt1';
/** Executor tokens are MACs over another message space (`executor:<name>`), so neither kind passes for the other. */
const EXECUTOR_VERSION = 'lre1';
/** Model-read tokens (`model-read:<tenant>:<model>:<version>`): what a Ray Serve replica fetches its model.onnx with. */
const MODEL_READ_VERSION = 'lrm1';
const SECRET_FILE = 'task-token.key';

export interface TokenClaims {
  taskId: string;
  attempt: number;
}

/** What a model-read token allows: reading `model.onnx` of that version of that model in that tenant's lake. */
export interface ModelReadClaims {
  tenant: string;
  model: string;
  version: number;
}

export class TaskTokens {
  constructor(private readonly secret: Buffer) {
    if (secret.length < 16) throw new Error('TaskTokens: the secret must have at least 16 bytes');
  }

  /**
   * The server's tokens. Processes that check each other's tokens (an API node verifying what a
   * task run by a scheduler node reports) must share one secret: `LAKERAY_TASK_TOKEN_KEY` (hex,
   * at least 16 bytes; on Kubernetes from a Secret, deploy/base/lakeray-pod.yaml) wins;
   * without it each state dir has its own key (one machine, or nodes sharing a state dir).
   */
  static fromEnvOrStateDir(stateDir: string, env: NodeJS.ProcessEnv = process.env): TaskTokens {
    const key = env.LAKERAY_TASK_TOKEN_KEY?.trim();
    if (key === undefined || key === '') return TaskTokens.fromStateDir(stateDir);
    if (!/^(?:[0-9a-fA-F]{2}){16,}$/.test(key)) throw new Error('LAKERAY_TASK_TOKEN_KEY must be hex, at least 32 digits (16 bytes): e.g. `openssl rand -hex 32`');
    return new TaskTokens(Buffer.from(key, 'hex'));
  }

  /** The tokens of `<stateDir>/task-token.key`, made (32 random bytes, mode 0600) on first use. */
  static fromStateDir(stateDir: string): TaskTokens {
    const file = join(stateDir, SECRET_FILE);
    mkdirSync(stateDir, { recursive: true });
    try {
      // 'wx': two servers starting at once on one state dir never overwrite each other's secret.
      writeFileSync(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return new TaskTokens(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'));
  }

  mint(taskId: string, attempt: number): string {
    return `${VERSION}.${Buffer.from(taskId).toString('base64url')}.${attempt}.${this.mac(taskId, attempt).toString('base64url')}`;
  }

  /** The claims of a token this server minted, or null for anything else. */
  verify(token: string): TokenClaims | null {
    const parts = token.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) return null;
    const [, idPart, attemptPart, macPart] = parts as [string, string, string, string];
    if (!/^[1-9][0-9]{0,8}$/.test(attemptPart)) return null;
    const taskId = Buffer.from(idPart, 'base64url').toString();
    const attempt = Number(attemptPart);
    const given = Buffer.from(macPart, 'base64url');
    const expected = this.mac(taskId, attempt);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return { taskId, attempt };
  }

  /**
   * The token a Ray actors-mode driver polls with (POST /api/v1/executors/{name}/driver/poll).
   * Stateless like a task token: a driver that outlives a server restart keeps polling with it.
   */
  mintExecutor(name: string): string {
    return `${EXECUTOR_VERSION}.${this.executorMac(name).toString('base64url')}`;
  }

  /** True when `token` is the executor token of `name`. */
  verifyExecutor(token: string, name: string): boolean {
    const [version, macPart, ...rest] = token.split('.');
    if (version !== EXECUTOR_VERSION || macPart === undefined || rest.length > 0) return false;
    const given = Buffer.from(macPart, 'base64url');
    const expected = this.executorMac(name);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /**
   * The credential a `ray` deployment's Serve replicas fetch their model with (serving/ray): it
   * reads one file of one model version in one tenant's lake and nothing else
   * (api/plugins/task-token-scope.ts), so a full API key never leaves the server for a cluster
   * whose every job can read a Serve app's arguments. Stateless: the same deployment gets the
   * same token, so re-applying the Serve config after a restart changes nothing.
   */
  mintModelRead(claims: ModelReadClaims): string {
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    return `${MODEL_READ_VERSION}.${b64(claims.tenant)}.${b64(claims.model)}.${claims.version}.${this.modelReadMac(claims).toString('base64url')}`;
  }

  /** The claims of a model-read token this server minted, or null for anything else. */
  verifyModelRead(token: string): ModelReadClaims | null {
    const parts = token.split('.');
    if (parts.length !== 5 || parts[0] !== MODEL_READ_VERSION) return null;
    const [, tenantPart, modelPart, versionPart, macPart] = parts as [string, string, string, string, string];
    if (!/^[1-9][0-9]{0,8}$/.test(versionPart)) return null;
    const claims = { tenant: Buffer.from(tenantPart, 'base64url').toString(), model: Buffer.from(modelPart, 'base64url').toString(), version: Number(versionPart) };
    const given = Buffer.from(macPart, 'base64url');
    const expected = this.modelReadMac(claims);
    return given.length === expected.length && timingSafeEqual(given, expected) ? claims : null;
  }

  private modelReadMac(c: ModelReadClaims): Buffer {
    // JSON keeps the fields apart whatever characters a name holds (no `a:b` + `c` = `a` + `b:c`).
    return createHmac('sha256', this.secret).update(`model-read:${JSON.stringify([c.tenant, c.model, c.version])}`).digest();
  }

  private executorMac(name: string): Buffer {
    return createHmac('sha256', this.secret).update(`executor:${name}`).digest();
  }

  private mac(taskId: string, attempt: number): Buffer {
    return createHmac('sha256', this.secret).update(`${taskId}:${attempt}`).digest();
  }
}
