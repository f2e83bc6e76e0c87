"""ffmpeg for the demo video model: find it, stream raw frames into H.264/MP4, decode an image,
write a PNG.

ffmpeg comes from ``LAKERAY_FFMPEG`` (the platform sets it: the system ffmpeg, or the static
build with libx264 that ``npm install`` brought), else from PATH. ffmpeg runs as a child of the
task's process, so it is in the task's process group: a cancel (SIGTERM, then SIGKILL to the
group) reaches it as well, and the callers kill it in their ``finally`` blocks anyway.
Every ffmpeg's stderr goes to an anonymous temporary file, never to a pipe nobody reads.
"""
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

# H.264 that every browser plays and can seek: yuv420p, the moov atom first (faststart), a
# keyframe every second (-g fps).
def x264_args(fps, crf=20):
    return ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-r", str(fps), "-g", str(fps), "-movflags", "+faststart"]


class FfmpegError(RuntimeError):
    pass


def find_ffmpeg():
    path = os.environ.get("LAKERAY_FFMPEG")
    if path:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        raise FfmpegError("LAKERAY_FFMPEG=%s is not an executable file" % path)
    path = shutil.which("ffmpeg")
    if path:
        return path
    raise FfmpegError("ffmpeg not found: set LAKERAY_FFMPEG to an ffmpeg binary with libx264 "
                      "(the platform sets it to the system ffmpeg or its bundled static build), or put ffmpeg on PATH")


def _stderr_text(f, limit=2000):
    try:
        f.seek(0)
        text = f.read().decode("utf-8", "replace").strip()
    except (OSError, ValueError):
        return ""
    return text[-limit:]


def kill(proc):
    """Stop an ffmpeg child now (SIGKILL) and reap it; a no-op once it has exited."""
    if proc is None:
        return
    if proc.poll() is None:
        try:
            proc.kill()
        except OSError:
            pass
    try:
        proc.wait()
    except BaseException:  # noqa: BLE001 - a second signal while reaping: the group kill follows
        pass


def run_ffmpeg(cmd, input_bytes=None, what="ffmpeg"):
    """Runs ffmpeg to completion (stdin fed from memory, stdout returned); kills it if interrupted."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err)
        try:
            out, _ = proc.communicate(input_bytes)
        finally:
            kill(proc)
        if proc.returncode != 0:
            raise FfmpegError("%s failed (exit %s): %s" % (what, proc.returncode, _stderr_text(err) or "no message"))
        return out


class VideoWriter:
    """Raw frames in on stdin, H.264 MP4 out; ffmpeg encodes while the caller renders the next frame.

    ``seconds`` is the time the caller spent blocked on ffmpeg (pipe writes + the final wait)."""

    def __init__(self, ffmpeg, path, width, height, fps, pix_fmt="rgb24"):
        self.path = path
        self.seconds = 0.0
        self._err = tempfile.TemporaryFile()
        cmd = [ffmpeg, "-hide_banner", "-nostats", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", "%dx%d" % (width, height), "-framerate", str(fps),
               "-i", "pipe:0", "-an", *x264_args(fps), "-f", "mp4", path]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._err)

    @property
    def pid(self):
        return self._proc.pid

    def _failed(self, how):
        kill(self._proc)
        return FfmpegError("ffmpeg encode %s (exit %s): %s" % (how, self._proc.returncode, _stderr_text(self._err) or "no message"))

    def write(self, frame):
        started = time.perf_counter()
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).data)
        except (BrokenPipeError, ValueError) as exc:
            raise self._failed("stopped taking frames") from exc
        finally:
            self.seconds += time.perf_counter() - started

    def close(self):
        started = time.perf_counter()
        try:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
            rc = self._proc.wait()
        finally:
            self.seconds += time.perf_counter() - started
        if rc != 0:
            raise self._failed("failed")
        self._err.close()

    def abort(self):
        kill(self._proc)
        try:
            self._proc.stdin.close()
        except (OSError, ValueError):
            pass
        self._err.close()


def write_png(ffmpeg, frame, width, height, path, pix_fmt="rgb24"):
    run_ffmpeg([ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
                "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", "%dx%d" % (width, height), "-i", "pipe:0",
                "-frames:v", "1", "-c:v", "png", "-f", "image2", path],
               input_bytes=np.ascontiguousarray(frame).tobytes(), what="ffmpeg (cover png)")


def decode_image(ffmpeg, path, width, height):
    """Any image ffmpeg reads, scaled to cover width×height and centre-cropped, as (H, W, 3) uint8."""
    if not os.path.isfile(path):
        raise FileNotFoundError("image %s does not exist" % path)
    vf = "scale=%d:%d:force_original_aspect_ratio=increase,crop=%d:%d,setsar=1" % (width, height, width, height)
    out = run_ffmpeg([ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", path, "-frames:v", "1",
                      "-vf", vf, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], what="ffmpeg (decode image %s)" % os.path.basename(path))
    need = width * height * 3
    if len(out) < need:
        raise FfmpegError("could not decode image %s: got %d bytes, expected %d" % (path, len(out), need))
    return np.frombuffer(out[:need], dtype=np.uint8).reshape(height, width, 3).copy()
