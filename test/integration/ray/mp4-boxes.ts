/**
 * What an MP4 file says about itself, read from its boxes (ISO/IEC 14496-12), so a test can
 * check a video without ffprobe: the `ftyp` brand, the movie's duration (`mvhd`), and per video
 * track its size (`tkhd`) and frame count (`stsz`). Only what those checks need; 64-bit box
 * sizes are read, fragmented files (`moof`) are not.
 */

interface Box {
  type: string;
  /** the box's payload, after its header */
  body: Buffer;
}

function boxes(buf: Buffer): Box[] {
  const out: Box[] = [];
  for (let at = 0; at + 8 <= buf.length; ) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = buf.length - at; // to the end of the file
    if (size < header || at + size > buf.length) throw new Error(`MP4: box "${type}" at ${at} overruns the file (${size} bytes)`);
    out.push({ type, body: buf.subarray(at + header, at + size) });
    at += size;
  }
  return out;
}

const child = (parent: Buffer, type: string): Buffer | undefined => boxes(parent).find((b) => b.type === type)?.body;

function need(parent: Buffer | undefined, path: string[]): Buffer {
  let at = parent;
  for (const type of path) {
    at = at === undefined ? undefined : child(at, type);
    if (at === undefined) throw new Error(`MP4: no ${path.join('/')} box`);
  }
  return at!;
}

export interface Mp4Facts {
  brand: string;
  /** top-level box types in file order (e.g. ftyp, moov, mdat: a "faststart" file has moov first) */
  topLevel: string[];
  durationS: number;
  video: { width: number; height: number; frames: number; durationS: number }[];
}

export function mp4Facts(file: Buffer): Mp4Facts {
  const top = boxes(file);
  const ftyp = top.find((b) => b.type === 'ftyp');
  const moov = top.find((b) => b.type === 'moov');
  if (!ftyp || !moov) throw new Error(`MP4: top-level boxes are ${top.map((b) => b.type).join(', ')}, without ftyp and moov`);
  const mvhd = need(moov.body, ['mvhd']);
  const video = boxes(moov.body)
    .filter((b) => b.type === 'trak')
    .filter((t) => need(t.body, ['mdia', 'hdlr']).toString('latin1', 8, 12) === 'vide')
    .map((t) => {
      const tkhd = need(t.body, ['tkhd']);
      const mdhd = need(t.body, ['mdia', 'mdhd']);
      const stsz = need(t.body, ['mdia', 'minf', 'stbl', 'stsz']);
      const sizeAt = tkhd[0] === 1 ? 88 : 76; // width and height: the last 8 bytes, 16.16 fixed point
      return {
        width: tkhd.readUInt32BE(sizeAt) / 65536,
        height: tkhd.readUInt32BE(sizeAt + 4) / 65536,
        frames: stsz.readUInt32BE(8),
        durationS: timed(mdhd),
      };
    });
  return { brand: ftyp.body.toString('latin1', 0, 4), topLevel: top.map((b) => b.type), durationS: timed(mvhd), video };
}

/** duration / timescale of an mvhd or mdhd (version 0: 32-bit fields, version 1: 64-bit times). */
function timed(fullBox: Buffer): number {
  if (fullBox[0] === 1) return Number(fullBox.readBigUInt64BE(24)) / fullBox.readUInt32BE(20);
  return fullBox.readUInt32BE(16) / fullBox.readUInt32BE(12);
}
