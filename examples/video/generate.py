"""A demo video-generation "model" that really makes video, with no GPU and no weights.

It has the shape of the seeds' Wan2.2 pipeline (generate → encode → post-process → upload):

1. render  — a deterministic procedural renderer (numpy, video_render.py) streams raw frames
             into ffmpeg (libx264), which encodes while the next frame is rendered; with an
             ``image`` (image-to-video) the image is frame 0 and the animation evolves from it;
2. postprocess — a separate ffmpeg pass stamps a semi-transparent watermark on the video
             (video_watermark.py), and the cover (the middle frame, watermarked) is written;
             the unwatermarked intermediate is deleted;
3. the MP4 and the cover are recorded as artifacts (the platform moves them into its store).

A failure fails the task with ``error.step`` = "render" or "postprocess" (``fail_step`` makes
one fail on purpose, for tests). Files are written under temporary names in the work
directory (``LAKERAY_WORK_DIR``, else a new temporary directory) and renamed when complete,
so a cancelled task never leaves a partial ``video.mp4``.

    lakeray submit video/generate.py -p prompt="a red fox in a snowy forest" -p num_frames=80 --watch
    python examples/video/generate.py --prompt "a red fox in a snowy forest" --out /tmp/fox
"""
import math
import os
import secrets
import sys
import tempfile
import time
from contextlib import contextmanager

import numpy as np

from video_encode import VideoWriter, decode_image, find_ffmpeg, write_png
from video_render import make_renderer
from video_watermark import make_watermark, overlay_video, stamp_rgb

try:
    from lakeray import StepError
except ImportError:  # run outside the platform's harness
    class StepError(Exception):
        def __init__(self, step, message=""):
            super().__init__(message)
            self.step = str(step)

DEFAULT_WATERMARK = "Lakeray"
MAX_SIDE = 4096
MAX_FRAMES = 100_000
PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress events per second (the last one always)


# ---------------------------------------------------------------------------- parameters

def _int(params, name, default, lo, hi):
    value = params.get(name)
    if value is None or value == "":
        value = default
    try:
        if isinstance(value, bool):
            raise ValueError
        if not isinstance(value, int):
            try:
                value = int(str(value).strip())  # "832"; exact for 64-bit seeds
            except ValueError:
                f = float(value)  # "16.0", 16.0
                if f != int(f):
                    raise
                value = int(f)
    except (TypeError, ValueError, OverflowError):
        raise ValueError("%s must be an integer, got %r" % (name, params.get(name))) from None
    if not lo <= value <= hi:
        raise ValueError("%s must be between %d and %d, got %d" % (name, lo, hi, value))
    return value


def parse_params(params, input_path=None):
    """The request's params, checked, with defaults: what the renderer and the encoder get."""
    params = dict(params or {})
    size = params.get("size")  # "W*H" (the seeds' notation) when width/height are not given
    if isinstance(size, str) and "*" in size and params.get("width") in (None, "") and params.get("height") in (None, ""):
        params["width"], params["height"] = size.split("*", 1)
    p = {
        "prompt": str(params.get("prompt") or ""),
        "negative_prompt": str(params.get("negative_prompt") or ""),
        "width": _int(params, "width", 832, 16, MAX_SIDE),
        "height": _int(params, "height", 480, 16, MAX_SIDE),
        "fps": _int(params, "fps", 16, 1, 120),
        "seed": _int(params, "seed", 0, -(2 ** 63), 2 ** 64 - 1),
        "model": str(params.get("model") or "demo"),
        "fail_step": params.get("fail_step") or None,
    }
    if p["width"] % 2 or p["height"] % 2:
        raise ValueError("width and height must be even (yuv420p), got %dx%d" % (p["width"], p["height"]))
    if params.get("num_frames") in (None, "") and params.get("duration") not in (None, ""):
        p["num_frames"] = max(1, int(round(float(params["duration"]) * p["fps"])))
        if p["num_frames"] > MAX_FRAMES:
            raise ValueError("duration gives %d frames, more than %d" % (p["num_frames"], MAX_FRAMES))
    else:
        p["num_frames"] = _int(params, "num_frames", 5 * p["fps"], 1, MAX_FRAMES)
    wm = params.get("watermark", True)
    p["watermark"] = DEFAULT_WATERMARK if wm is True or wm is None else ("" if wm is False else str(wm))
    image = params.get("image")
    if image in (None, "") and input_path and os.path.isfile(str(input_path)):
        image = input_path  # an uploaded image given as the task's input
    p["image"] = os.path.abspath(str(image)) if image not in (None, "") else None
    if p["fail_step"] not in (None, "render", "postprocess"):
        raise ValueError("fail_step must be 'render' or 'postprocess', got %r" % (p["fail_step"],))
    return p


# ---------------------------------------------------------------------------- plumbing

class _NullContext:
    task_id, attempt, cancelled = "local", 1, False

    def progress(self, fraction, message=None, step=None, total=None):
        pass

    def log(self, message, level="info"):
        print(message, file=sys.stderr)

    def artifact(self, path, name=None, content_type=None):
        pass


@contextmanager
def step(name):
    """Any failure inside becomes a StepError naming the step (cancellation passes through:
    it is a BaseException, not an Exception)."""
    try:
        yield
    except Exception as exc:
        if isinstance(getattr(exc, "step", None), str) and exc.step:
            raise
        raise StepError(name, "%s failed: %s: %s" % (name, type(exc).__name__, exc)) from exc


def work_dir():
    path = os.environ.get("LAKERAY_WORK_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        return path
    return tempfile.mkdtemp(prefix="lakeray-video-")


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class _Throttle:
    def __init__(self, interval):
        self.interval, self.last = interval, -math.inf

    def ready(self, force=False):
        now = time.monotonic()
        if force or now - self.last >= self.interval:
            self.last = now
            return True
        return False


# ---------------------------------------------------------------------------- the steps

def render_video(p, ffmpeg, path, ctx):
    """Renders every frame and streams it into ffmpeg; returns (middle frame as RGB, render seconds)."""
    t0 = time.perf_counter()
    w, h, n, fps = p["width"], p["height"], p["num_frames"], p["fps"]
    image = decode_image(ffmpeg, p["image"], w, h) if p["image"] else None
    renderer = make_renderer(p["prompt"], p["negative_prompt"], p["seed"], w, h, fps, image=image)
    render_s = time.perf_counter() - t0
    writer = VideoWriter(ffmpeg, path, w, h, fps, pix_fmt=renderer.pix_fmt)
    middle, mid_index = None, n // 2
    throttle = _Throttle(PROGRESS_INTERVAL_S)
    try:
        for i in range(n):
            t = time.perf_counter()
            frame = renderer.frame(i)
            if i == mid_index:
                middle = np.array(renderer.rgb(frame), copy=True)
            render_s += time.perf_counter() - t
            writer.write(frame)
            if p["fail_step"] == "render" and i == min(1, n - 1):
                raise RuntimeError("failing on purpose (fail_step=render) after frame %d" % (i + 1))
            done = i + 1
            if throttle.ready(force=done in (1, n)):
                ctx.progress(done / n, "rendering frame %d/%d" % (done, n), step=done, total=n)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return middle, render_s


def postprocess(p, ffmpeg, src, dst, cover_dst, middle):
    """Watermarks the video into dst (a new encode) and writes the watermarked middle frame as the cover."""
    rgba, margin = make_watermark(p["watermark"], p["width"], p["height"]) if p["watermark"] else (None, 0)
    if rgba is not None:
        bad_x = "W-w-" if p["fail_step"] == "postprocess" else None  # an invalid expression: ffmpeg fails for real
        overlay_video(ffmpeg, src, dst, rgba, margin, p["fps"], x_expr=bad_x)
    elif p["fail_step"] == "postprocess":
        raise RuntimeError("failing on purpose (fail_step=postprocess)")
    else:
        os.replace(src, dst)  # no watermark: the encode is the final video
    write_png(ffmpeg, stamp_rgb(middle, rgba, margin), p["width"], p["height"], cover_dst)
    return rgba is not None


def make_video(p, out, ctx, render=render_video):
    """The render and watermark steps into ``out``: ``video.mp4`` and ``cover.png`` appear only
    when complete. ``render(p, ffmpeg, path, ctx) -> (middle frame RGB, render seconds)`` writes
    the unwatermarked video (generate_ray.py passes Wan2.2's pipeline here when it has weights).
    Returns (video path, cover path, timings, watermarked)."""
    token = secrets.token_hex(4)
    raw_tmp = os.path.join(out, ".raw-%s.mp4.part" % token)
    video_tmp = os.path.join(out, ".video-%s.mp4.part" % token)
    cover_tmp = os.path.join(out, ".cover-%s.png.part" % token)
    video_path, cover_path = os.path.join(out, "video.mp4"), os.path.join(out, "cover.png")
    try:
        with step("render"):
            ffmpeg = find_ffmpeg()
            t0 = time.perf_counter()
            middle, render_s = render(p, ffmpeg, raw_tmp, ctx)
            encode_s = time.perf_counter() - t0 - render_s  # ffmpeg start, pipe writes, the final flush
        with step("postprocess"):
            ctx.progress(1.0, "post-processing: watermark")
            t0 = time.perf_counter()
            watermarked = postprocess(p, ffmpeg, raw_tmp, video_tmp, cover_tmp, middle)
            _remove(raw_tmp)  # the unwatermarked intermediate
            os.replace(video_tmp, video_path)
            os.replace(cover_tmp, cover_path)
            post_s = time.perf_counter() - t0
    finally:
        for path in (raw_tmp, video_tmp, cover_tmp):  # a failure or a cancel leaves no partial file behind
            _remove(path)
    timings = {"render_seconds": round(render_s, 4), "encode_seconds": round(encode_s, 4), "postprocess_seconds": round(post_s, 4)}
    return video_path, cover_path, timings, watermarked


def run(input_path, output_path, params, ctx=None):
    started = time.perf_counter()
    ctx = ctx if ctx is not None else _NullContext()
    p = parse_params(params, input_path)
    video_path, cover_path, timings, watermarked = make_video(p, work_dir(), ctx)
    ctx.artifact(video_path, name="video.mp4", content_type="video/mp4")
    ctx.artifact(cover_path, name="cover.png", content_type="image/png")
    n, fps = p["num_frames"], p["fps"]
    return {
        "video": "video.mp4", "cover": "cover.png",
        "num_frames": n, "fps": fps, "width": p["width"], "height": p["height"], "duration": n / fps,
        **timings, "total_seconds": round(time.perf_counter() - started, 4),
        "model": p["model"], "seed": p["seed"], "mode": "i2v" if p["image"] else "t2v", "watermarked": watermarked,
    }


def main(argv=None):
    import argparse
    import json

    ap = argparse.ArgumentParser(description="the Lakeray demo video model, outside the platform")
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--negative-prompt", default="")
    ap.add_argument("--size", default="832*480", help="W*H")
    ap.add_argument("--num-frames", type=int, default=80)
    ap.add_argument("--fps", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--image", default=None)
    ap.add_argument("--watermark", default=DEFAULT_WATERMARK)
    ap.add_argument("--out", default=None, help="output directory (default: a new temporary one)")
    a = ap.parse_args(argv)
    os.environ["LAKERAY_WORK_DIR"] = os.path.abspath(a.out) if a.out else tempfile.mkdtemp(prefix="lakeray-video-")
    result = run(None, None, {"prompt": a.prompt, "negative_prompt": a.negative_prompt, "size": a.size,
                              "num_frames": a.num_frames, "fps": a.fps, "seed": a.seed, "image": a.image,
                              "watermark": a.watermark})
    print(json.dumps(result, indent=2))
    print("wrote %s" % os.path.join(os.environ["LAKERAY_WORK_DIR"], result["video"]), file=sys.stderr)


if __name__ == "__main__":
    main()
