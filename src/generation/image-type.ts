/**
 * What an image really is, from its first bytes (never from a name or a Content-Type header,
 * which a client controls): PNG, JPEG, WebP or GIF — what the video models take as a first
 * frame. Anything else is refused.
 */
import type { UploadKind } from '../artifacts/upload-store.ts';

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0): boolean => sig.every((x, i) => b[at + i] === x);

/** The image kind of `bytes`, or null when they are not a PNG, JPEG, WebP or GIF. */
export function sniffImage(bytes: Uint8Array): UploadKind | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { content_type: 'image/png', extension: 'png' };
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { content_type: 'image/jpeg', extension: 'jpg' };
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return { content_type: 'image/webp', extension: 'webp' };
  if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38]) && (bytes[4] === 0x37 || bytes[4] === 0x39) && bytes[5] === 0x61)
    return { content_type: 'image/gif', extension: 'gif' };
  return null;
}
