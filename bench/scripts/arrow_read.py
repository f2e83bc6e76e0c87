"""bench/arrow-read.ts: read the whole train split through the harness (ctx.read_dataset),
`rounds` times, timing each read. The first read of a version exports it as a local snapshot
(cold); later reads memory-map it (warm). Also times the streaming path that remote tasks
(Ray, Kubernetes) use, and the limit: pyarrow reading the same table from a local Arrow IPC
file (`pa.ipc.open_file(path).read_all()`, which reads it into memory) and memory-mapped,
in this same process."""
import os
import tempfile
import time


def _timed(fn, rounds):
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        table = fn()
        out.append(time.perf_counter() - t0)
        del table
    return out


def run(input_path, output_path, params, ctx):
    import pyarrow as pa

    rounds = int(params.get("rounds", 5))
    read = lambda: ctx.read_dataset(input_path, filter="split = 'train'")  # noqa: E731
    seconds = _timed(read, rounds)
    table = read()
    out = {"bytes": table.nbytes, "rows": table.num_rows, "seconds": seconds}

    local = ctx.lake.local
    ctx.lake.local = False  # what a task on another machine does: the Arrow stream over HTTP
    try:
        out["stream_seconds"] = _timed(read, rounds)
    finally:
        ctx.lake.local = local

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "train.arrow")
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)
        del table

        def copied():  # the plain idiom: pyarrow reads the file into memory
            return pa.ipc.open_file(path).read_all()

        def mapped():
            return pa.ipc.open_file(pa.memory_map(path, "r")).read_all()

        out["baseline_copy_seconds"] = _timed(copied, rounds)
        out["baseline_mmap_seconds"] = _timed(mapped, rounds)
    return out
