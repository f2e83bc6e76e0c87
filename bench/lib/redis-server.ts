// A throwaway redis-server per benchmark run, so baselines never touch (or
// depend on) a shared Redis and leave nothing behind.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { waitExit } from "./child-process.ts";

export interface RedisHandle {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** Port 0 trick: the kernel hands out a free port, which we then release. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Raw RESP PING, so readiness does not depend on a client library's retry logic. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on("error", () => done(false));
    sock.on("connect", () => sock.write("PING\r\n"));
    sock.on("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

export interface RedisOptions {
  /**
   * Durable as BullMQ's production guide recommends: AOF on, fsync every second
   * (`appendonly yes`, `appendfsync everysec`, `maxmemory-policy noeviction`). Default: no
   * persistence at all.
   */
  durable?: boolean;
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisHandle> {
  const dir = await mkdtemp(path.join(tmpdir(), "lakeray-bench-redis-"));
  // The free port can be taken between probe and bind; retry a few times.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(
      "redis-server",
      [
        "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir,
        ...(opts.durable
          ? ["--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction"]
          : ["--appendonly", "no"]),
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let spawnError: Error | undefined;
    child.on("error", (e) => (spawnError = e));
    // Last-resort cleanup if the benchmark crashes before stop().
    const onExit = () => child.kill("SIGKILL");
    process.once("exit", onExit);

    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !spawnError && child.exitCode === null) {
      if (await ping(port)) {
        return {
          port,
          url: `redis://127.0.0.1:${port}`,
          async stop() {
            process.removeListener("exit", onExit);
            child.kill("SIGTERM");
            if (!(await waitExit(child, 5_000))) {
              child.kill("SIGKILL");
              await waitExit(child, 5_000);
            }
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    process.removeListener("exit", onExit);
    child.kill("SIGKILL");
    await waitExit(child, 2_000);
    if (spawnError) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`cannot start redis-server (apt-get install -y redis-server?): ${spawnError.message}`);
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error("redis-server did not answer PING after 5 attempts");
}
