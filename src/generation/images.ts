/**
 * The `image` of a generation request, made a local file the task can read. It may be
 *   - an upload id ("up_…", from POST /api/v1/uploads),
 *   - a data: URI (base64), decoded here,
 *   - an http(s) URL, fetched here: under the outbound URL policy (no private addresses
 *     unless generation.uploads.allow_private), with a timeout, at most max_bytes read, and
 *     at most max_redirects redirects, each checked again.
 * Whatever it was, its bytes must sniff as PNG, JPEG, WebP or GIF; decoded and fetched
 * images are kept as uploads, so the task gets one absolute path in every case.
 */
import { request } from 'undici';
import type { Upload, UploadStore } from '../artifacts/upload-store.ts';
import type { GenerationConfig } from '../config/schema.ts';
import { LakerayError } from '../domain/errors.ts';
import { checkOutboundUrl, outboundAgent } from '../net/url-policy.ts';
import { sniffImage } from './image-type.ts';

type UploadLimits = GenerationConfig['uploads'];

const mib = (n: number): string =>
  n >= 1024 * 1024 ? `${+(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${+(n / 1024).toFixed(1)} KiB` : `${n} bytes`;

const invalid = (message: string): LakerayError => new LakerayError('INVALID_IMAGE', `image: ${message}`);

export class ImageInputs {
  private readonly agent;

  constructor(
    private readonly uploads: UploadStore,
    private readonly limits: UploadLimits,
  ) {
    this.agent = outboundAgent(limits.allow_private, limits.fetch_timeout_ms);
  }

  async close(): Promise<void> {
    await this.agent.destroy().catch(() => {});
  }

  /** Checks and keeps an uploaded file's bytes as `tenant`'s (POST /api/v1/uploads). */
  async save(tenant: string, bytes: Buffer): Promise<Upload> {
    if (bytes.length > this.limits.max_bytes) throw new LakerayError('PAYLOAD_TOO_LARGE', `file: larger than ${mib(this.limits.max_bytes)}`);
    const kind = sniffImage(bytes);
    if (kind === null) throw new LakerayError('INVALID_IMAGE', 'file: not a PNG, JPEG, WebP or GIF image');
    return this.uploads.save(tenant, bytes, kind);
  }

  /** The upload behind a request's `image` (null when there is none); an upload id must be `tenant`'s. */
  async resolve(tenant: string, image: string | null | undefined): Promise<Upload | null> {
    if (image === null || image === undefined) return null;
    if (image.startsWith('up_')) {
      const upload = await this.uploads.get(tenant, image);
      if (upload === null) throw new LakerayError('UPLOAD_NOT_FOUND', `image: no upload "${image.slice(0, 80)}"`);
      return upload;
    }
    if (/^data:/i.test(image)) return this.keep(tenant, this.decodeDataUri(image));
    if (/^https?:\/\//i.test(image)) return this.keep(tenant, await this.fetch(image));
    throw new LakerayError('INVALID_REQUEST', 'image: expected an upload id (up_…), a data: URI or an http(s) URL');
  }

  private async keep(tenant: string, bytes: Buffer): Promise<Upload> {
    const kind = sniffImage(bytes);
    if (kind === null) throw invalid('not a PNG, JPEG, WebP or GIF image');
    return this.uploads.save(tenant, bytes, kind);
  }

  private decodeDataUri(uri: string): Buffer {
    const comma = uri.indexOf(',');
    if (comma < 0) throw invalid('malformed data: URI (no comma)');
    const meta = uri.slice(5, comma);
    const payload = uri.slice(comma + 1);
    if (!/;base64$/i.test(meta)) throw invalid('a data: URI must be base64 (data:image/png;base64,…)');
    if (Math.floor((payload.length * 3) / 4) > this.limits.max_bytes + 3) throw invalid(`larger than ${mib(this.limits.max_bytes)}`);
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload)) throw invalid('malformed base64 in the data: URI');
    const bytes = Buffer.from(payload, 'base64');
    if (bytes.length > this.limits.max_bytes) throw invalid(`larger than ${mib(this.limits.max_bytes)}`);
    return bytes;
  }

  private async fetch(raw: string): Promise<Buffer> {
    const { fetch_timeout_ms: timeout, max_redirects, max_bytes, allow_private } = this.limits;
    let url = checkOutboundUrl(raw, allow_private, 'image');
    const signal = AbortSignal.timeout(timeout);
    for (let hop = 0; ; hop++) {
      let res;
      try {
        res = await request(url, { method: 'GET', dispatcher: this.agent, signal, headersTimeout: timeout, bodyTimeout: timeout, headers: { accept: 'image/*' } });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'URL_NOT_ALLOWED') throw new LakerayError('URL_NOT_ALLOWED', `image: ${(err as Error).message}`);
        throw invalid(`could not fetch ${url.host}: ${signal.aborted ? `no answer within ${timeout} ms` : (err as Error).message}`);
      }
      if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
        await res.body.dump().catch(() => {});
        if (hop >= max_redirects) throw invalid(`more than ${max_redirects} redirects`);
        url = checkOutboundUrl(new URL(String(res.headers.location), url).href, allow_private, 'image');
        continue;
      }
      if (res.statusCode < 200 || res.statusCode >= 300) {
        await res.body.dump().catch(() => {});
        throw invalid(`${url.host} answered ${res.statusCode}`);
      }
      const length = Number(res.headers['content-length']);
      if (Number.isFinite(length) && length > max_bytes) {
        res.body.destroy();
        throw invalid(`larger than ${mib(max_bytes)}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of res.body) {
          size += (chunk as Buffer).length;
          if (size > max_bytes) {
            res.body.destroy();
            throw invalid(`larger than ${mib(max_bytes)}`);
          }
          chunks.push(chunk as Buffer);
        }
      } catch (err) {
        if (err instanceof LakerayError) throw err;
        throw invalid(`could not read the answer of ${url.host}: ${signal.aborted ? `not complete within ${timeout} ms` : (err as Error).message}`);
      }
      return Buffer.concat(chunks);
    }
  }
}
