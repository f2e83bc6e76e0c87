/**
 * Which URLs the server itself may call (webhook deliveries, `image` URLs it fetches): http
 * and https only, and — unless the operator allows it — never a private, loopback,
 * link-local or otherwise non-public address, so a client cannot make the server probe its
 * own network (SSRF).
 *
 * Checked twice: the URL's host at submit time (an IP literal or "localhost" is refused at
 * once), and every address a host name resolves to at connect time, through the `lookup`
 * of the HTTP agent (so a name that resolves, or is re-bound, to 127.0.0.1 is refused too).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent } from 'undici';
import { LakerayError } from '../domain/errors.ts';

const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  ['100::', 64],
] as const)
  blocked.addSubnet(net, bits, 'ipv6');

/** True for any address that is not a public unicast address (IPv4-mapped and NAT64 IPv6 included). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true; // not an address at all: refuse
  const lower = address.toLowerCase();
  const mapped = /^(?:::ffff:(?:0:)?|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return blocked.check(mapped[1] as string, 'ipv4');
  const hexMapped = /^(?:::ffff:(?:0:)?|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hexMapped) {
    const hi = parseInt(hexMapped[1] as string, 16);
    const lo = parseInt(hexMapped[2] as string, 16);
    return blocked.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
  }
  return blocked.check(address, 'ipv6');
}

/**
 * Parses and checks a URL the server will call: http(s) only; with `allowPrivate` false no IP
 * literal of a private range and no "localhost" name. `field` names it in the error message.
 */
export function checkOutboundUrl(raw: string, allowPrivate: boolean, field: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LakerayError('INVALID_REQUEST', `${field}: not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new LakerayError('URL_NOT_ALLOWED', `${field}: only http and https URLs are allowed`);
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const name = host.toLowerCase().replace(/\.$/, '');
  if (isIP(host) ? isPrivateAddress(host) : name === 'localhost' || name.endsWith('.localhost'))
    throw new LakerayError('URL_NOT_ALLOWED', `${field}: ${url.hostname} is a private or loopback address`);
  return url;
}

/** A `lookup` for net.connect that refuses host names resolving to a private address. */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return (callback as (e: Error) => void)(err);
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad || addresses.length === 0) {
      const e = Object.assign(new Error(`${hostname} resolves to a private address (${bad?.address ?? 'none'})`), { code: 'URL_NOT_ALLOWED' });
      return (callback as (e: Error) => void)(e);
    }
    if ((options as { all?: boolean }).all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0] as LookupAddress;
    (callback as (e: null, a: string, f: number) => void)(null, first.address, first.family);
  });
};

/** An HTTP agent for outbound calls under the policy (redirects are never followed by it). */
export const outboundAgent = (allowPrivate: boolean, connectTimeoutMs: number): Agent =>
  new Agent({ connect: { timeout: connectTimeoutMs, ...(allowPrivate ? {} : { lookup: publicOnlyLookup }) } });

/**
 * A URL as Lakeray shows it back (task JSON, the webhook delivery log): scheme and host only,
 * `/…` standing for any path, query or credentials. Webhook URLs often carry their token in
 * the path (Slack's /services/T…/B…/X…) or the query; they are kept whole only where the
 * notifier sends from.
 */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    const hidden = u.username !== '' || u.password !== '' || u.pathname.length > 1 || u.search !== '' || u.hash !== '';
    return `${u.protocol}//${u.host}${hidden ? '/…' : '/'}`;
  } catch {
    return '…';
  }
}
