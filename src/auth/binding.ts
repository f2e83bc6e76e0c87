/**
 * What the bound address means for authentication (docs/configuration.md "auth"). In mode
 * `auto` a loopback server takes keyless requests (README's commands) and any other address
 * requires keys, so no configuration but an explicit `auth: none` serves a network without
 * authentication; that one is allowed, loudly.
 */
import { isIP } from 'node:net';
import type { AuthConfig } from '../config/auth-schema.ts';
import type { KeyStore } from '../store/key-store.ts';

export function isLoopbackAddress(address: string): boolean {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1';
}

/** A host to bind is loopback when it is a loopback IP or `localhost`; 0.0.0.0, :: and other names are not. */
export const isLoopbackHost = (host: string): boolean => host === 'localhost' || isLoopbackAddress(host);

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Logs what the server will accept; warns when no request could get in, or when anyone can. */
export async function checkAuthBinding(config: AuthConfig, host: string, keys: KeyStore, log: Log, now = Date.now()): Promise<void> {
  const loopback = isLoopbackHost(host);
  if (config.mode === 'none') {
    if (!loopback) log.warn({ host }, 'auth: none on a non-loopback address: anyone who reaches this server is the default tenant\'s admin');
    return;
  }
  if (config.mode === 'auto' && loopback) return;
  const live = (await keys.listKeys()).some((k) => k.revoked_at === null && (k.expires_at === null || k.expires_at > now));
  log.info({ host, mode: config.mode }, 'auth: every request needs an API key (Authorization: Bearer)');
  if (!live) log.warn({ host }, 'auth: no usable API key exists yet; make one with `lakeray keys create --tenant default --role admin`');
}
