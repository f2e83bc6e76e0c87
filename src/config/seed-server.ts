/**
 * Seed 004's `config.yaml` (§5.4) under Lakeray's own keys:
 *
 *   server:
 *     host: "http://localhost:8000"    # the service's address
 *     storage_path: "./lance_storage"  # the lake's root
 *
 * `server.host` given as an http:// URL is where the server listens: its host becomes
 * `server.host`, its port `server.port` (80 when the URL names none, as URLs mean).
 * `server.storage_path` is `lake.root`. When Lakeray's own key is given too and means something
 * else, that is one error naming both. Applied to the file's document before the LAKERAY_*
 * environment overrides, so those still win.
 */
import { isAbsolute, resolve } from 'node:path';

/** Rewrites the seed's keys in `doc.server` in place; returns the issues (each naming its key), empty when none. */
export function applySeedServerKeys(doc: Record<string, any>, baseDir: string): string[] {
  const server = doc.server;
  if (!server || typeof server !== 'object' || Array.isArray(server)) return [];
  const issues: string[] = [];
  if (typeof server.host === 'string' && server.host.includes('://')) issues.push(...applyHostUrl(server));
  if ('storage_path' in server) issues.push(...applyStoragePath(doc, server, baseDir));
  return issues;
}

function applyHostUrl(server: Record<string, any>): string[] {
  const given: string = server.host;
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    return [`server.host: "${given}" is neither a host name nor a URL like http://localhost:8000`];
  }
  if (url.protocol !== 'http:') return [`server.host: "${given}": Lakeray serves plain HTTP, so a URL here must start with http://`];
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== ''))
    return [`server.host: "${given}": only http://host[:port] (no path, query or user) names where the server listens`];
  const port = url.port === '' ? 80 : Number(url.port);
  if (server.port !== undefined && server.port !== port)
    return [`server.host: "${given}" says port ${port} but server.port says ${String(server.port)}; give one of them, or the same port`];
  // [::1] in a URL is ::1 to listen on.
  server.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  server.port = port;
  return [];
}

function applyStoragePath(doc: Record<string, any>, server: Record<string, any>, baseDir: string): string[] {
  const path = server.storage_path;
  delete server.storage_path;
  if (typeof path !== 'string' || path === '') return ['server.storage_path: must be a non-empty path (the lake root, like lake.root)'];
  const lake = doc.lake;
  const own = lake && typeof lake === 'object' ? lake.root : undefined;
  if (own !== undefined && !samePlace(own, path, baseDir))
    return [`server.storage_path ("${path}") and lake.root ("${String(own)}") both name the lake's root and differ; keep one`];
  if (lake !== undefined && (typeof lake !== 'object' || lake === null)) return []; // the schema names lake's own error
  doc.lake = { ...lake, root: path };
  return [];
}

const samePlace = (a: unknown, b: string, baseDir: string): boolean => {
  if (typeof a !== 'string') return false;
  const abs = (p: string) => (isAbsolute(p) || p.includes('://') ? p.replace(/\/+$/, '') : resolve(baseDir, p));
  return abs(a) === abs(b);
};
