"""Deterministic procedural video frames with numpy only (the demo "model" of generate.py).

Everything a frame looks like comes from a hash of (prompt, seed): the palette (hues taken from
the prompt's words, colour words first), the drifting gradient, the soft glowing shapes and the
particles. The same prompt + seed + size gives the same frames, bit for bit. Motion is a
function of time in seconds (frame / fps), not of the video's length, so a longer video starts
with the same frames as a shorter one.

Two renderers, one interface (``frame(i)`` returns a C-contiguous uint8 array in ``pix_fmt``):

- ``ProceduralRenderer`` (text-to-video): a (palette index, brightness) pair per pixel is
  computed as two float32 fields, quantized with dithering, and mapped through a packed
  256×64 colour table (``rgb0``, one uint32 per pixel): about 20 vectorized passes per frame.
- ``ImageRenderer`` (image-to-video): frame 0 is the image itself; later frames zoom and pan
  slowly into it (bilinear), drift its colours, and fade in glows and particles.

Both are cheap enough to run faster than real time at 832×480 on one core.
"""
import colorsys
import hashlib
import math
import re

import numpy as np

# Colour words pull the palette towards what the prompt asks for: (hue°, saturation, value).
COLOR_WORDS = {
    "red": (0, 0.85, 0.9), "crimson": (348, 0.85, 0.8), "scarlet": (5, 0.9, 0.9),
    "orange": (28, 0.9, 0.95), "amber": (40, 0.9, 0.95), "gold": (45, 0.8, 0.95), "golden": (45, 0.8, 0.95),
    "yellow": (55, 0.85, 0.95), "lemon": (58, 0.8, 0.95), "lime": (90, 0.8, 0.9),
    "green": (120, 0.7, 0.75), "forest": (135, 0.65, 0.55), "jungle": (115, 0.75, 0.6), "grass": (100, 0.7, 0.75),
    "leaf": (105, 0.7, 0.7), "emerald": (145, 0.75, 0.7), "mint": (150, 0.45, 0.9),
    "teal": (178, 0.7, 0.7), "cyan": (185, 0.75, 0.9), "turquoise": (174, 0.7, 0.85),
    "sky": (200, 0.55, 0.95), "ocean": (205, 0.8, 0.75), "sea": (200, 0.75, 0.75), "water": (195, 0.6, 0.85),
    "river": (195, 0.6, 0.8), "lake": (200, 0.6, 0.75), "rain": (210, 0.35, 0.7), "ice": (190, 0.3, 0.95),
    "snow": (210, 0.12, 0.97), "snowy": (210, 0.12, 0.97), "winter": (205, 0.25, 0.9),
    "blue": (220, 0.8, 0.85), "azure": (210, 0.75, 0.95), "navy": (230, 0.8, 0.45),
    "night": (235, 0.7, 0.35), "midnight": (240, 0.75, 0.3), "space": (250, 0.7, 0.3), "galaxy": (265, 0.7, 0.5),
    "indigo": (255, 0.75, 0.6), "violet": (275, 0.7, 0.8), "purple": (280, 0.7, 0.7), "lavender": (270, 0.35, 0.92),
    "magenta": (300, 0.8, 0.9), "pink": (330, 0.5, 0.95), "rose": (340, 0.6, 0.9), "cherry": (345, 0.6, 0.9),
    "sunset": (18, 0.85, 0.95), "sunrise": (32, 0.7, 0.98), "dawn": (25, 0.5, 0.95), "dusk": (290, 0.5, 0.6),
    "fire": (14, 0.95, 0.95), "flame": (20, 0.95, 0.95), "lava": (8, 0.95, 0.85), "desert": (35, 0.55, 0.9),
    "sand": (40, 0.4, 0.9), "autumn": (25, 0.8, 0.8), "neon": (310, 0.9, 1.0), "cyberpunk": (300, 0.85, 0.9),
    "fox": (22, 0.85, 0.85), "cat": (30, 0.5, 0.8), "tiger": (28, 0.9, 0.9), "bamboo": (95, 0.6, 0.7),
    "white": (0, 0.0, 0.96), "silver": (210, 0.08, 0.85), "black": (0, 0.0, 0.12), "grey": (0, 0.0, 0.55),
    "gray": (0, 0.0, 0.55), "dark": (240, 0.4, 0.2), "brown": (25, 0.65, 0.45), "chocolate": (20, 0.7, 0.35),
}

# Chinese colour and scene words (the prompts of the seeds' users), matched inside a word.
CJK_COLOR_WORDS = {
    "红": "red", "橙": "orange", "黄": "yellow", "绿": "green", "青": "teal", "蓝": "blue", "紫": "purple",
    "粉": "pink", "白": "white", "黑": "black", "灰": "grey", "金": "gold", "银": "silver", "棕": "brown",
    "海": "ocean", "天空": "sky", "夜": "night", "雪": "snow", "冰": "ice", "火": "fire", "夕阳": "sunset",
    "日落": "sunset", "日出": "sunrise", "森林": "forest", "沙漠": "desert", "星空": "galaxy", "霓虹": "neon",
}

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# 64 brightness levels over [0, 2): up to 1 the palette colour is darkened, above 1 it goes to white.
_S_LEVELS, _L_LEVELS, _L_PER_UNIT = 256, 64, 32


def seed_int(*parts):
    """A 64-bit integer from any values: the root of every random choice."""
    data = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def words(text):
    out = []
    for w in _WORD.findall(text or ""):
        w = w.lower()
        if w.isascii():
            out.append(w)
            continue
        # A run of CJK characters has no spaces: its colour words first, then the run itself.
        out += [en for zh, en in CJK_COLOR_WORDS.items() if zh in w]
        out.append(w)
    return out


def _hue_distance(a, b):
    d = abs(a - b) % 360
    return min(d, 360 - d)


def palette_hsv(prompt, negative_prompt, seed):
    """3-4 (hue°, saturation, value) stops: colour words of the prompt first, then its other words."""
    rng = np.random.default_rng(seed_int("palette", prompt, seed))
    ws = words(prompt)
    stops = [COLOR_WORDS[w] for w in ws if w in COLOR_WORDS]
    for w in ws:
        if w not in COLOR_WORDS:
            h = seed_int("word", w) % 360
            stops.append((h, 0.55 + 0.35 * ((seed_int("sat", w) % 100) / 100), 0.6 + 0.35 * ((seed_int("val", w) % 100) / 100)))
    distinct = []
    for h, s, v in stops:
        if all(_hue_distance(h, d[0]) > 18 or abs(s - d[1]) > 0.3 for d in distinct):
            distinct.append((h, s, v))
        if len(distinct) == 4:
            break
    if not distinct:
        distinct.append((float(rng.uniform(0, 360)), 0.7, 0.85))
    while len(distinct) < 3:  # fill with harmonious neighbours (analogous or split-complementary)
        h0 = distinct[0][0]
        step = float(rng.choice([-35, 35, 150, -150]))
        distinct.append(((h0 + step * len(distinct)) % 360, float(rng.uniform(0.5, 0.85)), float(rng.uniform(0.55, 0.95))))
    bad = [COLOR_WORDS[w][0] for w in words(negative_prompt) if w in COLOR_WORDS and COLOR_WORDS[w][1] > 0.2]
    bad += [seed_int("word", w) % 360 for w in words(negative_prompt) if w not in COLOR_WORDS]
    out = []
    for h, s, v in distinct:
        if any(_hue_distance(h, b) < 25 for b in bad):  # the negative prompt pushes its hues away
            h = (h + 180) % 360
        out.append((float(h), float(s), float(v)))
    return out


def build_lut(hsv_stops):
    """The packed colour table: index (palette position << 6 | brightness level) → uint32 rgb0."""
    cols = np.array([colorsys.hsv_to_rgb(h / 360.0, s, v) for h, s, v in hsv_stops], dtype=np.float64)
    # Cyclic stops, each followed by a deeper shade of itself: bands of colour with some depth.
    seq = []
    for c in cols:
        seq += [c, c * 0.55]
    seq = np.array(seq)
    k = len(seq)
    pos = np.arange(_S_LEVELS) / _S_LEVELS * k
    i0 = np.floor(pos).astype(int) % k
    i1 = (i0 + 1) % k
    f = pos - np.floor(pos)
    f = f * f * (3 - 2 * f)  # smoothstep between stops
    ramp = seq[i0] * (1 - f)[:, None] + seq[i1] * f[:, None]  # (256, 3)
    lv = np.arange(_L_LEVELS) / _L_PER_UNIT  # 0 .. 2
    dark = ramp[:, None, :] * np.minimum(lv, 1.0)[None, :, None]
    glow = np.clip(lv - 1.0, 0, 1)[None, :, None] * 0.92
    rgb = dark + (1.0 - dark) * glow
    rgb = np.clip(np.round(rgb * 255), 0, 255).astype(np.uint32)  # (256, 64, 3)
    packed = rgb[..., 0] | (rgb[..., 1] << 8) | (rgb[..., 2] << 16) | np.uint32(0xFF000000)
    return packed.reshape(-1).astype(np.uint32)


class _Motion:
    """Soft blobs and particles shared by both renderers: positions are functions of t (seconds)."""

    def __init__(self, rng, width, height):
        self.w, self.h = width, height
        self.aspect = width / height
        # Coordinates in units of the frame height (so shapes stay round at any aspect ratio).
        self.xs = ((np.arange(width, dtype=np.float32) + 0.5) / height).astype(np.float32)
        self.ys = ((np.arange(height, dtype=np.float32) + 0.5) / height).astype(np.float32)
        nb = int(rng.integers(4, 7))
        self.blobs = [dict(
            cx=float(rng.uniform(0.15, 0.85)) * self.aspect, cy=float(rng.uniform(0.2, 0.8)),
            ax=float(rng.uniform(0.1, 0.35)) * self.aspect, ay=float(rng.uniform(0.08, 0.3)),
            fx=float(rng.uniform(0.15, 0.5)), fy=float(rng.uniform(0.12, 0.45)),
            px=float(rng.uniform(0, 2 * math.pi)), py=float(rng.uniform(0, 2 * math.pi)),
            r=float(rng.uniform(0.12, 0.28)), amp=float(rng.uniform(0.5, 1.0)),
            pulse=float(rng.uniform(0.3, 0.9)), pphase=float(rng.uniform(0, 2 * math.pi)),
        ) for _ in range(nb)]
        self._bbuf = np.zeros((height, width), dtype=np.float32)
        # A fixed pool of particles; how many are drawn depends on the frame's area.
        pool = 400
        self.p_x = rng.uniform(0, self.aspect, pool).astype(np.float32)
        self.p_y = rng.uniform(0, 1, pool).astype(np.float32)
        self.p_vx = rng.normal(0, 0.02, pool).astype(np.float32)
        self.p_vy = -rng.uniform(0.015, 0.08, pool).astype(np.float32)  # drifting upwards, like embers
        self.p_wa = rng.uniform(0.003, 0.02, pool).astype(np.float32)
        self.p_wf = rng.uniform(0.5, 2.0, pool).astype(np.float32)
        self.p_ph = rng.uniform(0, 2 * math.pi, pool).astype(np.float32)
        self.p_tw = rng.uniform(1.0, 4.0, pool).astype(np.float32)
        self.p_b = rng.uniform(0.35, 1.0, pool).astype(np.float32)
        n = int(round(40 + 110 * math.sqrt(width * height / (832 * 480))))
        self.n_particles = max(8, min(pool, n))
        if height >= 360:  # a soft 5×5 sprite on large frames, 3×3 on small ones
            k = np.array([0.15, 0.5, 1.0, 0.5, 0.15], dtype=np.float32)
        else:
            k = np.array([0.35, 1.0, 0.35], dtype=np.float32)
        r = len(k) // 2
        off = np.arange(-r, r + 1)
        self.sprite_dy = np.repeat(off, len(k))
        self.sprite_dx = np.tile(off, len(k))
        self.sprite_w = np.outer(k, k).reshape(-1).astype(np.float32)

    def blobs_field(self, t):
        """Sum of soft gaussian blobs at time t, (H, W) float32 in about [0, 1.5]. Each blob is
        separable (an outer product), and only its window (±2.6 r) is touched."""
        b = self._bbuf
        b.fill(0)
        xs, ys, H = self.xs, self.ys, self.h
        for bl in self.blobs:
            cx = bl["cx"] + bl["ax"] * math.sin(bl["fx"] * t + bl["px"])
            cy = bl["cy"] + bl["ay"] * math.sin(bl["fy"] * t + bl["py"])
            r = bl["r"] * (1 + 0.15 * math.sin(bl["pulse"] * t + bl["pphase"]))
            amp = bl["amp"] * (0.8 + 0.2 * math.sin(bl["pulse"] * 1.7 * t + bl["pphase"]))
            reach = 2.6 * r
            x0 = max(0, int((cx - reach) * H)); x1 = min(self.w, int((cx + reach) * H) + 1)
            y0 = max(0, int((cy - reach) * H)); y1 = min(self.h, int((cy + reach) * H) + 1)
            if x0 >= x1 or y0 >= y1:
                continue
            inv = np.float32(1.0 / (r * r))
            gx = np.exp(-np.square(xs[x0:x1] - np.float32(cx)) * inv)
            gy = np.exp(-np.square(ys[y0:y1] - np.float32(cy)) * inv) * np.float32(amp)
            b[y0:y1, x0:x1] += gy[:, None] * gx[None, :]
        return b

    def add_particles(self, field, t, gain):
        """Adds the particles (soft sprites) at time t into a (H, W) float32 field, in place."""
        n = self.n_particles
        tt = np.float32(t)
        x = self.p_x[:n] + self.p_vx[:n] * tt + self.p_wa[:n] * np.sin(self.p_wf[:n] * tt + self.p_ph[:n])
        y = self.p_y[:n] + self.p_vy[:n] * tt + self.p_wa[:n] * np.cos(self.p_wf[:n] * 0.8 * tt + self.p_ph[:n])
        ix = (np.mod(x, self.aspect) * self.h).astype(np.int64)
        iy = (np.mod(y, 1.0) * self.h).astype(np.int64)
        bright = self.p_b[:n] * (0.55 + 0.45 * np.sin(self.p_tw[:n] * tt + self.p_ph[:n])) * np.float32(gain)
        px = np.mod(ix[:, None] + self.sprite_dx[None, :], self.w)
        py = np.mod(iy[:, None] + self.sprite_dy[None, :], self.h)
        np.add.at(field.reshape(-1), (py * self.w + px).reshape(-1), (bright[:, None] * self.sprite_w[None, :]).reshape(-1))


class ProceduralRenderer:
    """Text-to-video: drifting palette gradient, glowing blobs, particles, vignette, dither."""

    pix_fmt = "rgb0"

    def __init__(self, prompt, negative_prompt, seed, width, height, fps):
        self.width, self.height, self.fps = width, height, fps
        rng = np.random.default_rng(seed_int("scene", prompt, seed))
        self.palette = palette_hsv(prompt, negative_prompt, seed)
        self.lut = build_lut(self.palette)
        self.motion = m = _Motion(rng, width, height)
        ang = float(rng.uniform(0, 2 * math.pi))
        g = float(rng.uniform(0.2, 0.45))
        self.gdx, self.gdy = g * math.cos(ang), g * math.sin(ang)
        self.k1, self.k2 = float(rng.uniform(2.0, 5.0)), float(rng.uniform(2.0, 5.0))
        self.a1, self.a2 = float(rng.uniform(0.05, 0.12)), float(rng.uniform(0.05, 0.12))
        self.w1, self.w2 = float(rng.uniform(0.3, 0.9)) * rng.choice([-1, 1]), float(rng.uniform(0.3, 0.9)) * rng.choice([-1, 1])
        self.p1, self.p2 = float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))
        self.cycle = float(rng.uniform(0.02, 0.05)) * rng.choice([-1, 1])  # palette drift per second
        self.blob_hue = float(rng.uniform(0.12, 0.3))
        self.base_light = float(rng.uniform(0.55, 0.7))
        # Vignette (brightness falls off towards the corners), prescaled to brightness levels.
        cx, cy = m.aspect / 2, 0.5
        r2 = (np.square(m.xs - cx)[None, :] + np.square(m.ys - cy)[:, None]) / np.float32(cx * cx + cy * cy)
        self.vig = ((1.0 - 0.5 * r2) * _L_PER_UNIT).astype(np.float32)
        # Ordered-random dither, a window of it moves every frame (film grain without banding).
        nrng = np.random.default_rng(seed_int("grain", seed))
        self.noise = nrng.random((height + 32, width + 32), dtype=np.float32)
        self._s = np.empty((height, width), dtype=np.float32)
        self._l = np.empty((height, width), dtype=np.float32)
        self._si = np.empty((height, width), dtype=np.int32)
        self._li = np.empty((height, width), dtype=np.int32)

    def frame(self, i):
        m, t = self.motion, i / self.fps
        # Palette position: a gradient plus two travelling waves (x-only and y-only: cheap
        # outer sums), shifted by the blobs so the shapes glow in a neighbouring colour.
        gx = m.xs * np.float32(self.gdx) + np.float32(self.a1) * np.sin(m.xs * np.float32(self.k1) + np.float32(self.w1 * t + self.p1))
        gy = m.ys * np.float32(self.gdy) + np.float32(self.a2) * np.sin(m.ys * np.float32(self.k2) + np.float32(self.w2 * t + self.p2))
        gx += np.float32(self.cycle * t + 4.0)  # +4: keep it positive before the wrap-around
        s, light = self._s, self._l
        np.add(gy[:, None], gx[None, :], out=s)
        b = m.blobs_field(t)
        s += b * np.float32(self.blob_hue)
        # Brightness: base light, raised by the blobs, darkened towards the corners; particles on top.
        np.multiply(b, np.float32(0.75), out=light)
        light += np.float32(self.base_light)
        light *= self.vig
        m.add_particles(light, t, _L_PER_UNIT * 1.1)
        # Quantize with a moving dither window, then one lookup per pixel.
        oy, ox = (i * 7) % 32, (i * 13) % 32
        light += self.noise[oy:oy + self.height, ox:ox + self.width]
        si, li = self._si, self._li
        s *= np.float32(_S_LEVELS)
        np.copyto(si, s, casting="unsafe")
        si &= _S_LEVELS - 1
        si <<= 6
        np.copyto(li, light, casting="unsafe")
        np.clip(li, 0, _L_LEVELS - 1, out=li)
        si |= li
        return self.lut.take(si)  # (H, W) uint32 = rgb0 bytes

    def rgb(self, frame):
        """An rgb0 frame as (H, W, 3) uint8 (a view)."""
        return frame.view(np.uint8).reshape(self.height, self.width, 4)[..., :3]


class ImageRenderer:
    """Image-to-video: frame 0 is the image; then a slow zoom and pan into it, a colour drift,
    and glows and particles in the prompt's palette fading in over the first seconds.

    Pixels are kept as float32 RGBX (16 bytes, gathered as one complex128) so the bilinear
    resampling is two row gathers and two column gathers of whole pixels, and every per-channel
    operation runs over long rows (numpy is slow on a short innermost axis of 3 or 4)."""

    pix_fmt = "rgb0"

    def __init__(self, image, prompt, negative_prompt, seed, width, height, fps):
        if image.shape != (height, width, 3) or image.dtype != np.uint8:
            raise ValueError("image must be a (%d, %d, 3) uint8 array, got %s %s" % (height, width, image.shape, image.dtype))
        self.width, self.height, self.fps = width, height, fps
        rng = np.random.default_rng(seed_int("i2v", prompt, seed))
        first = np.full((height, width, 4), 255, dtype=np.uint8)
        first[..., :3] = image
        self.first = first
        img = np.zeros((height, width, 4), dtype=np.float32)
        img[..., :3] = image
        self.packed = img.view(np.complex128).reshape(height, width)
        self.palette = palette_hsv(prompt, negative_prompt, seed)
        h, s, v = self.palette[0]
        self.tint = [float(c) * 255 for c in colorsys.hsv_to_rgb(h / 360, min(s, 0.6), 1.0)]
        self.motion = _Motion(rng, width, height)
        self.zoom = float(rng.uniform(0.1, 0.18))  # up to +10..18 %
        self.zoom_period = float(rng.uniform(9.0, 14.0))  # seconds for a zoom in and out
        ang = float(rng.uniform(0, 2 * math.pi))
        self.pan = (math.cos(ang), math.sin(ang))
        self.drift = rng.uniform(0.04, 0.09, 3)
        self.drift_f = rng.uniform(0.2, 0.5, 3)
        self.drift_p = rng.uniform(0, 2 * math.pi, 3)
        self.glow = float(rng.uniform(0.18, 0.3))
        self._field = np.empty((height, width), dtype=np.float32)
        self._tmp = np.empty((height, width), dtype=np.float32)
        self._u8 = np.empty((height, width, 4), dtype=np.uint8)

    def _axis(self, n, z, shift):
        """Bilinear source positions along one axis for zoom z, the view centre shifted by `shift` px."""
        src = (np.arange(n, dtype=np.float64) + 0.5 - n / 2) / z + n / 2 + shift - 0.5
        src = np.clip(src, 0, n - 1)
        i0 = np.floor(src).astype(np.intp)
        f = (src - i0).astype(np.float32)
        i1 = np.minimum(i0 + 1, n - 1)
        return i0, i1, f

    def frame(self, i):
        if i == 0:
            return self.first
        H, W = self.height, self.width
        t = i / self.fps
        ramp = min(1.0, t / 1.5)
        ramp = ramp * ramp * (3 - 2 * ramp)  # effects fade in: frame 0 is the image exactly
        z = 1 + self.zoom * (1 - math.cos(2 * math.pi * t / self.zoom_period)) / 2
        slack_x, slack_y = W * (1 - 1 / z) / 2, H * (1 - 1 / z) / 2
        y0, y1, fy = self._axis(H, z, self.pan[1] * slack_y * 0.9)
        x0, x1, fx = self._axis(W, z, self.pan[0] * slack_x * 0.9)
        # Rows, then columns: out = a + (b - a) * f, on whole RGBX pixels.
        p = self.packed
        r0 = p.take(y0, axis=0).view(np.float32).reshape(H, W * 4)
        r1 = p.take(y1, axis=0).view(np.float32).reshape(H, W * 4)
        r1 -= r0
        r1 *= fy[:, None]
        r0 += r1
        rows = r0.view(np.complex128).reshape(H, W)
        out = rows.take(x0, axis=1).view(np.float32).reshape(H, W * 4)
        c1 = rows.take(x1, axis=1).view(np.float32).reshape(H, W * 4)
        c1 -= out
        c1 *= np.repeat(fx, 4)[None, :]
        out += c1
        # Colour drift (per-channel gains), then the glow and particles in the palette's tint.
        gains = 1 + ramp * self.drift * np.sin(self.drift_f * t + self.drift_p)
        out *= np.tile(np.array([gains[0], gains[1], gains[2], 0.0], dtype=np.float32), W)[None, :]
        m = self.motion
        f = self._field
        np.multiply(m.blobs_field(t), np.float32(self.glow * ramp), out=f)
        m.add_particles(f, t, 0.9 * ramp)
        px = out.reshape(H, W, 4)
        for c in range(3):
            np.multiply(f, np.float32(self.tint[c]), out=self._tmp)
            px[..., c] += self._tmp
        np.clip(out, 0, 255, out=out)
        np.copyto(self._u8, px, casting="unsafe")
        return self._u8

    def rgb(self, frame):
        return frame[..., :3]


def make_renderer(prompt, negative_prompt, seed, width, height, fps, image=None):
    if image is not None:
        return ImageRenderer(image, prompt, negative_prompt, seed, width, height, fps)
    return ProceduralRenderer(prompt, negative_prompt, seed, width, height, fps)


def render_frames(prompt, seed, width, height, num_frames, fps=16, negative_prompt="", image=None):
    """The frames as (H, W, 3) uint8 arrays, one at a time (each is only valid until the next)."""
    r = make_renderer(prompt, negative_prompt, seed, width, height, fps, image=image)
    for i in range(num_frames):
        yield r.rgb(r.frame(i))
