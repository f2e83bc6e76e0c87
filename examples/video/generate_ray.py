"""Wan2.2 video generation as the seeds run it: the entrypoint of a Ray job (seed 000), e.g.

    python generate_ray.py --task t2v-A14B --size "832*480" --ckpt_dir /models/Wan2.2-T2V-A14B \\
        --num-workers 4 --prompt "A cinematic video of an astronaut on Mars."

It takes Wan2.2's own generate.py arguments (--task, --size, --frame_num, --ckpt_dir,
--offload_model, --save_file, --prompt, --base_seed, --image, --sample_solver, --sample_steps,
--sample_shift, --sample_guide_scale, …) plus the seed's --num-workers, and:

1. renders the video: with Wan2.2 weights in --ckpt_dir and the ``wan`` package importable,
   through Wan2.2's pipeline (``load_wan22_pipeline``, the one place weights are loaded);
   otherwise — as on every machine of this project — it says so and renders with the demo
   renderer of generate.py at the requested size and frame count;
2. the watermark step, generate.py's post-processing (the seeds' postprocess.py);
3. reports progress the seed's way (seed 001 §2, seed 002's serve_app.py): XADD to the Redis
   stream ``wan22-progress-stream`` with task_id/status/progress/url/error, when a Redis URL is
   given (--redis-url, else $REDIS_URL, else the seed's $REDIS_HOST/$REDIS_PORT); and through the
   Lakeray context when it runs as a Lakeray task.

As a Lakeray task (``run(input_path, output_path, params, ctx)``, on any executor) the params are
either ``{"argv": [...]}`` — the same arguments, as the catalog's Wan2.2 templates pass them —
or the arguments by name (``{"task": "t2v-A14B", "size": "832*480", …}``). Both go through one
argument parser, so a bad value is the same clear error either way, before any work starts.
"""
import argparse
import importlib.util
import json
import shutil
import os
import pathlib
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime

from video_progress_stream import DEFAULT_STREAM, ProgressStream

def _load_demo():
    """generate.py next to this file, by path: in the seeds' layout this script sits in the
    Wan2.2 repository, whose own generate.py a plain ``import generate`` would find."""
    spec = importlib.util.spec_from_file_location("video_demo_generate", os.path.join(os.path.dirname(os.path.abspath(__file__)), "generate.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = _load_demo()

# Wan2.2's configs (wan/configs): sample fps, default frame count and sampling steps, sizes.
TASKS = {
    "t2v-A14B": {"fps": 16, "frame_num": 81, "sample_steps": 40, "sizes": ("720*1280", "1280*720", "480*832", "832*480")},
    "i2v-A14B": {"fps": 16, "frame_num": 81, "sample_steps": 40, "sizes": ("720*1280", "1280*720", "480*832", "832*480")},
    "ti2v-5B": {"fps": 24, "frame_num": 121, "sample_steps": 50, "sizes": ("704*1280", "1280*704")},
}
# Every Wan2.2 checkpoint directory has the T5 encoder: its presence means "weights are here".
WAN_T5_CHECKPOINT = "models_t5_umt5-xxl-enc-bf16.pth"


def _str2bool(v):
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "y", "on"):
        return True
    if s in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError("expected a boolean, got %r" % v)


class _Parser(argparse.ArgumentParser):
    """Raises instead of exiting, so a Lakeray task fails with the message (a ValueError)."""

    def error(self, message):
        raise ValueError("generate_ray.py: %s" % message)


def build_parser():
    ap = _Parser(prog="generate_ray.py", description="Wan2.2 video generation as a Ray job entrypoint (seed 000)")
    ap.add_argument("--task", default="t2v-A14B", choices=list(TASKS))
    ap.add_argument("--size", default="1280*720", help="W*H, one of the task's sizes")
    ap.add_argument("--frame_num", type=int, default=None, help="frames (Wan2.2 wants 4n+1; default per task)")
    ap.add_argument("--ckpt_dir", required=True, help="the Wan2.2 checkpoint directory")
    ap.add_argument("--num-workers", "--num_workers", dest="num_workers", type=int, default=1,
                    help="GPU workers of the generation (seed 000: 4, one GPU each)")
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--image", default=None, help="image-to-video input (required for i2v-A14B)")
    ap.add_argument("--base_seed", type=int, default=-1, help="-1: a random seed")
    ap.add_argument("--save_file", default=None, help="where the final video goes (the cover beside it, .png)")
    ap.add_argument("--offload_model", type=_str2bool, default=None)
    ap.add_argument("--sample_solver", default="unipc", choices=["unipc", "dpm++"])
    ap.add_argument("--sample_steps", type=int, default=None)
    ap.add_argument("--sample_shift", type=float, default=None)
    ap.add_argument("--sample_guide_scale", type=float, default=None)
    ap.add_argument("--ulysses_size", type=int, default=1)
    for flag in ("--t5_fsdp", "--t5_cpu", "--dit_fsdp", "--convert_model_dtype"):
        ap.add_argument(flag, action="store_true")
    # The seed's progress stream and the platform's post-processing.
    ap.add_argument("--redis-url", "--redis_url", dest="redis_url", default=None)
    ap.add_argument("--progress-stream", "--progress_stream", dest="progress_stream", default=DEFAULT_STREAM)
    ap.add_argument("--task-id", "--task_id", dest="task_id", default=None,
                    help="task_id of the stream entries (default: the Lakeray task's, else a new UUID)")
    ap.add_argument("--watermark", default=demo.DEFAULT_WATERMARK, help='the text; "" or false for none')
    return ap


def parse_args(argv, env=None, input_path=None):
    """The arguments, checked as Wan2.2's generate.py checks them, with its defaults."""
    env = os.environ if env is None else env
    a = build_parser().parse_args([str(x) for x in argv])
    spec = TASKS[a.task]
    if a.size not in spec["sizes"]:
        raise ValueError("generate_ray.py: size %s is not supported by %s (supported: %s)" % (a.size, a.task, ", ".join(spec["sizes"])))
    if a.image in (None, "") and input_path and os.path.isfile(str(input_path)):
        a.image = str(input_path)  # an uploaded image given as the task's input
    a.image = os.path.abspath(a.image) if a.image else None
    if a.task == "i2v-A14B" and a.image is None:
        raise ValueError("generate_ray.py: --image is required for i2v-A14B")
    if a.image is not None and not os.path.isfile(a.image):
        raise ValueError("generate_ray.py: --image %s is not a file" % a.image)
    if a.num_workers < 1:
        raise ValueError("generate_ray.py: --num-workers must be at least 1, got %d" % a.num_workers)
    a.frame_num = spec["frame_num"] if a.frame_num is None else a.frame_num
    if not 1 <= a.frame_num <= demo.MAX_FRAMES:
        raise ValueError("generate_ray.py: --frame_num must be between 1 and %d, got %d" % (demo.MAX_FRAMES, a.frame_num))
    # The catalog passes the request's watermark as text: true → the default mark, false → none.
    a.watermark = {"true": demo.DEFAULT_WATERMARK, "false": ""}.get(a.watermark.strip().lower(), a.watermark)
    a.sample_steps = spec["sample_steps"] if a.sample_steps is None else a.sample_steps
    a.base_seed = a.base_seed if a.base_seed >= 0 else random.randint(0, sys.maxsize)  # as Wan2.2 does
    if a.redis_url is None:
        host = env.get("REDIS_HOST")
        a.redis_url = env.get("REDIS_URL") or ("redis://%s:%s" % (host, env.get("REDIS_PORT", "6379")) if host else None)
    return a


def params_to_argv(params):
    """A task's params as arguments: ``{"argv": [...]}`` as they are, else one option per key
    (a store_true flag when the value is true; None, "" and false flags left out)."""
    if "argv" in params:
        argv = params["argv"]
        if not isinstance(argv, list):
            raise ValueError("generate_ray.py: params.argv must be a list of arguments, got %s" % type(argv).__name__)
        return [str(x) for x in argv]
    flags = {a.dest for a in build_parser()._actions if isinstance(a, argparse._StoreTrueAction)}
    argv = []
    for key, value in params.items():
        name = str(key).replace("-", "_")
        if name in flags:
            argv += ["--" + name] if value is True else []
        elif value is not None and value != "":
            argv += ["--" + name, str(value)]
    return argv


def load_wan22_pipeline(args, log):
    """THE place where real Wan2.2 checkpoints are loaded (as Wan2.2's generate.py does).

    Returns a render function with generate.render_video's signature that runs Wan2.2's
    pipeline and saves its video, or None — after saying why — when this machine cannot:
    no weights in --ckpt_dir (every machine of this project: no weights ship with it), or no
    ``wan`` package. Loading happens once per process; a warm Ray actor (mode actors) keeps it.
    """
    if not os.path.isfile(os.path.join(args.ckpt_dir, WAN_T5_CHECKPOINT)):
        log("no Wan2.2 weights in %s (no %s): rendering with the demo renderer instead" % (args.ckpt_dir, WAN_T5_CHECKPOINT))
        return None
    try:
        import wan
        from PIL import Image
        from wan.configs import MAX_AREA_CONFIGS, SIZE_CONFIGS, WAN_CONFIGS
        from wan.utils.utils import save_video
    except ImportError as exc:
        log("Wan2.2 weights are in %s but the wan package is not importable (%s): rendering with the demo renderer instead" % (args.ckpt_dir, exc))
        return None
    cfg = WAN_CONFIGS[args.task]
    rank, local_rank, world = (int(os.getenv(k, d)) for k, d in (("RANK", 0), ("LOCAL_RANK", 0), ("WORLD_SIZE", 1)))
    pipeline_class = {"t2v-A14B": wan.WanT2V, "i2v-A14B": wan.WanI2V, "ti2v-5B": wan.WanTI2V}[args.task]
    pipe = pipeline_class(config=cfg, checkpoint_dir=args.ckpt_dir, device_id=local_rank, rank=rank,
                          t5_fsdp=args.t5_fsdp, dit_fsdp=args.dit_fsdp, use_sp=args.ulysses_size > 1,
                          t5_cpu=args.t5_cpu, convert_model_dtype=args.convert_model_dtype)
    offload = args.offload_model if args.offload_model is not None else world == 1

    def render(p, ffmpeg, path, ctx):
        t0 = time.perf_counter()
        common = dict(frame_num=args.frame_num, shift=args.sample_shift or cfg.sample_shift, sample_solver=args.sample_solver,
                      sampling_steps=args.sample_steps, guide_scale=args.sample_guide_scale or cfg.sample_guide_scale,
                      seed=args.base_seed, offload_model=offload)
        img = Image.open(args.image).convert("RGB") if args.image else None
        if args.task == "t2v-A14B":
            video = pipe.generate(args.prompt, size=SIZE_CONFIGS[args.size], **common)
        elif args.task == "i2v-A14B":
            video = pipe.generate(args.prompt, img, max_area=MAX_AREA_CONFIGS[args.size], **common)
        else:
            video = pipe.generate(args.prompt, img=img, size=SIZE_CONFIGS[args.size], max_area=MAX_AREA_CONFIGS[args.size], **common)
        save_video(tensor=video[None], save_file=path, fps=cfg.sample_fps, nrow=1, normalize=True, value_range=(-1, 1))
        return demo.decode_image(ffmpeg, path, p["width"], p["height"]), time.perf_counter() - t0  # frame 0: the cover

    return render


def visible_gpus():
    """The GPUs this process may use: CUDA_VISIBLE_DEVICES, which Ray sets from the job's
    entrypoint_num_gpus (the task's `gpu`); None when nobody set it (a plain shell)."""
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    return None if value is None else [g for g in value.split(",") if g.strip()]


class _Reports:
    """The context generate.py's steps report to: progress to the Lakeray context and the Redis
    stream; artifacts held back until the files are where they stay."""

    def __init__(self, ctx, stream):
        self.ctx, self.stream = ctx, stream

    def progress(self, fraction, message=None, step=None, total=None):
        self.ctx.progress(fraction, message, step=step, total=total)
        if self.stream is not None:
            self.stream.running(fraction)

    def log(self, message, level="info"):
        self.ctx.log(message, level)

    def artifact(self, path, name=None, content_type=None):
        pass


def _video_url(path, task_id, lakeray_task):
    """Where the finished video is: the platform's artifact URL for a Lakeray task, else the file."""
    api = os.environ.get("LAKERAY_API_URL")
    if lakeray_task and api:
        return "%s/api/v1/tasks/%s/artifacts/video.mp4" % (api.rstrip("/"), task_id)
    return pathlib.Path(path).resolve().as_uri()


def _default_save_file(a):
    """Wan2.2's own name for the video, in the working directory."""
    prompt = a.prompt.replace(" ", "_").replace("/", "_")[:50]
    return "%s_%s_%d_%s_%s.mp4" % (a.task, a.size, a.ulysses_size, prompt, datetime.now().strftime("%Y%m%d_%H%M%S"))


def generate(args, ctx, lakeray_task=False, out_dir=None):
    """Render, watermark, report. ``out_dir`` (a Lakeray task's work directory) holds the files
    unless --save_file names the video's path."""
    started = time.perf_counter()
    task_id = args.task_id or (ctx.task_id if lakeray_task else None) or os.environ.get("LAKERAY_TASK_ID") or str(uuid.uuid4())
    stream = ProgressStream(args.redis_url, task_id, args.progress_stream, log=ctx.log) if args.redis_url else None
    width, height = (int(x) for x in args.size.split("*"))
    p = demo.parse_params({"prompt": args.prompt, "width": width, "height": height, "num_frames": args.frame_num,
                           "fps": TASKS[args.task]["fps"], "seed": args.base_seed, "image": args.image,
                           "watermark": args.watermark, "model": args.task})
    save_file = os.path.abspath(args.save_file) if args.save_file else (None if out_dir else os.path.abspath(_default_save_file(args)))
    gpus = visible_gpus()
    if gpus is not None and len(gpus) < args.num_workers:
        ctx.log("--num-workers %d but %d GPU(s) given to this job (CUDA_VISIBLE_DEVICES=%s): Wan2.2 runs one worker per GPU"
                % (args.num_workers, len(gpus), ",".join(gpus)), "warn")
    try:
        if stream is not None:
            stream.running(0)
        render = load_wan22_pipeline(args, ctx.log) or demo.render_video
        # Next to the final file, so moving it there is a rename.
        out = tempfile.mkdtemp(prefix=".generate-", dir=os.path.dirname(save_file)) if save_file else out_dir
        try:
            video, cover, timings, watermarked = demo.make_video(p, out, _Reports(ctx, stream), render=render)
            if save_file:
                cover_file = os.path.splitext(save_file)[0] + ".png"
                os.replace(video, save_file)
                os.replace(cover, cover_file)
                video, cover = save_file, cover_file
        finally:
            if save_file:
                shutil.rmtree(out, ignore_errors=True)
        ctx.artifact(video, name="video.mp4", content_type="video/mp4")
        ctx.artifact(cover, name="cover.png", content_type="image/png")
        url = _video_url(video, task_id, lakeray_task)
        if stream is not None:
            stream.completed(url)
    except BaseException as exc:  # a cancel (lakeray.Cancelled) or Ctrl-C is reported too, then goes on
        if stream is not None:
            stream.failed("%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__)
        raise
    finally:
        if stream is not None:
            stream.close()
    return {
        "task_id": task_id, "task": args.task, "url": url, "video": video, "cover": cover,
        "renderer": "demo" if render is demo.render_video else "wan2.2", "ckpt_dir": args.ckpt_dir,
        "size": args.size, "num_frames": p["num_frames"], "fps": p["fps"], "duration": p["num_frames"] / p["fps"],
        "base_seed": args.base_seed, "sample_steps": args.sample_steps, "num_workers": args.num_workers, "gpus": gpus,
        "offload_model": args.offload_model, "mode": "i2v" if args.image else "t2v", "watermarked": watermarked,
        **timings, "total_seconds": round(time.perf_counter() - started, 4),
    }


def run(input_path, output_path, params, ctx):
    """As a Lakeray task: the same arguments as params (see the module docstring)."""
    args = parse_args(params_to_argv(dict(params or {})), input_path=input_path)
    result = generate(args, ctx, lakeray_task=True, out_dir=demo.work_dir())
    # The platform names artifacts by name; paths on this machine mean nothing to a client.
    return {**result, "video": "video.mp4", "cover": "cover.png"}


def main(argv=None):
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except ValueError as exc:
        build_parser().print_usage(sys.stderr)
        print(str(exc), file=sys.stderr)
        return 2
    try:
        result = generate(args, demo._NullContext())
    except Exception as exc:
        print("generate_ray.py: %s: %s" % (type(exc).__name__, exc), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
