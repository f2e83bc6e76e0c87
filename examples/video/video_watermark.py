"""The post-processing step: stamp a semi-transparent watermark (a logo and bitmap-font text) in
the bottom-right corner of the video with ffmpeg's ``overlay``, and of the cover with numpy.

No fonts are needed: the text is drawn with the 5×7 bitmap font below (upper case, digits and a
little punctuation; lower case is drawn as upper case, other characters are left out).
"""
import numpy as np

from video_encode import run_ffmpeg, x264_args

_FONT_ROWS = {
    "A": ".###. #...# #...# ##### #...# #...# #...#", "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.", "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####", "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####", "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.", "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#", "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#", "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.", "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#", "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.", "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.", "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.", "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..", "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.", "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####", "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.", "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.", "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.", "9": ".###. #...# #...# .#### ....# ...#. .##..",
    " ": "..... ..... ..... ..... ..... ..... .....", "-": "..... ..... ..... .###. ..... ..... .....",
    ".": "..... ..... ..... ..... ..... ..... ..#..", "_": "..... ..... ..... ..... ..... ..... #####",
    ":": "..... ..#.. ..... ..... ..... ..#.. .....", "/": "....# ....# ...#. ..#.. .#... #.... #....",
    "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..", "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
    "@": ".###. #...# #.### #.#.# #.### #.... .####", "&": ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",
}
FONT = {ch: np.array([[c == "#" for c in row] for row in rows.split()], dtype=bool) for ch, rows in _FONT_ROWS.items()}

# A little logo: a ring with a four-pointed spark ("a ray over a lake").
LOGO = np.array([[c == "#" for c in row] for row in (
    "..###..", ".#...#.", "#..#..#", "#.###.#", "#..#..#", ".#...#.", "..###..")], dtype=bool)


def text_mask(text):
    glyphs = [FONT[ch] for ch in "".join(ch for ch in str(text).upper() if ch in FONT).strip()]
    if not glyphs:
        return np.zeros((7, 0), dtype=bool)
    cols = []
    for g in glyphs:
        cols += [g, np.zeros((7, 1), dtype=bool)]
    return np.concatenate(cols[:-1], axis=1)


def _dilate(mask, r):
    out = mask.copy()
    h, w = mask.shape
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
            xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
            out[yd, xd] |= mask[ys, xs]
    return out


def make_watermark(text, frame_width, frame_height, opacity=0.72):
    """The watermark as (h, w, 4) uint8 straight RGBA (white glyphs with a soft dark outline), and
    the margin to keep from the frame's corner; None when it does not fit the frame at all."""
    scale = max(1, int(round(frame_height / 240)))
    margin = max(2, int(round(min(frame_width, frame_height) * 0.03)))
    room = (frame_width - 2 * margin) // scale - 2  # in font pixels, minus the outline
    text = str(text or "")
    while True:
        mask = text_mask(text)
        parts = [LOGO] + ([np.zeros((7, 3), dtype=bool), mask] if mask.shape[1] else [])
        body = np.concatenate(parts, axis=1)
        if body.shape[1] <= room or not text:
            break
        text = text[:-1].rstrip()
    if body.shape[1] > room:
        body = LOGO if LOGO.shape[1] <= room else None
    if body is None or frame_height < 9 * scale + 2 * margin:
        return None, margin
    body = np.pad(body, 1)
    body = np.repeat(np.repeat(body, scale, axis=0), scale, axis=1)
    outline = _dilate(body, max(1, scale // 2 + 1)) & ~body
    rgba = np.zeros(body.shape + (4,), dtype=np.uint8)
    rgba[body] = (255, 255, 255, int(round(255 * opacity)))
    rgba[outline] = (0, 0, 0, int(round(255 * opacity * 0.45)))
    return rgba, margin


def stamp_rgb(frame, rgba, margin):
    """The watermark alpha-blended into a copy of an (H, W, 3) uint8 frame (for the cover)."""
    out = np.array(frame[..., :3], dtype=np.uint8, copy=True)
    if rgba is None:
        return out
    h, w = rgba.shape[:2]
    H, W = out.shape[:2]
    y0, x0 = H - margin - h, W - margin - w
    region = out[y0:y0 + h, x0:x0 + w].astype(np.float32)
    a = rgba[..., 3:4].astype(np.float32) / 255
    region = region * (1 - a) + rgba[..., :3].astype(np.float32) * a
    out[y0:y0 + h, x0:x0 + w] = np.clip(np.round(region), 0, 255).astype(np.uint8)
    return out


def overlay_video(ffmpeg, src, dst, rgba, margin, fps, x_expr=None):
    """Re-encodes src with the watermark composited bottom-right (ffmpeg overlay, alpha-blended)."""
    h, w = rgba.shape[:2]
    x = x_expr if x_expr is not None else "W-w-%d" % margin
    graph = "[1:v]format=rgba[wm];[0:v][wm]overlay=x=%s:y=H-h-%d:eof_action=repeat:format=auto[v]" % (x, margin)
    cmd = [ffmpeg, "-hide_banner", "-nostats", "-loglevel", "error", "-y", "-i", src,
           "-f", "rawvideo", "-pix_fmt", "rgba", "-s", "%dx%d" % (w, h), "-i", "pipe:0",
           "-filter_complex", graph, "-map", "[v]", "-an", *x264_args(fps), "-f", "mp4", dst]
    run_ffmpeg(cmd, input_bytes=np.ascontiguousarray(rgba).tobytes(), what="ffmpeg overlay (watermark)")
