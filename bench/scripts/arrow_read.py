"""bench/arrow-read.ts: reads of the train split through the harness (ctx.read_dataset), each
against the plain pyarrow read that does the same kind of work, in this same process.

params.mode:
  "cold"  one read with params.filter, the first of that scan on the server (it exports the
          version as a local Arrow snapshot, then the harness maps it): {"seconds", "bytes", "rows"}
  "warm"  params.rounds rounds, each side in turn (the order alternates):
          - map:  the harness's local read of an already exported snapshot (one HTTP round trip,
                  then a memory map) against pyarrow memory-mapping a local Arrow IPC file of the
                  same table (pa.ipc.open_file(pa.memory_map(path)).read_all()); neither copies a byte
          - copy: the harness's HTTP Arrow stream (what tasks on other machines read: decoded
                  into this process's memory) against pyarrow reading the local IPC file into
                  memory (pa.ipc.open_file(path).read_all())
All times are time.perf_counter() seconds."""
import os
import tempfile
import time


def _seconds(fn):
    t0 = time.perf_counter()
    table = fn()
    seconds = time.perf_counter() - t0
    return seconds, table


def run(input_path, output_path, params, ctx):
    import pyarrow as pa

    flt = params.get("filter", "split = 'train'")
    read = lambda: ctx.read_dataset(input_path, filter=flt)  # noqa: E731
    if params.get("mode") == "cold":
        seconds, table = _seconds(read)
        return {"seconds": seconds, "bytes": table.nbytes, "rows": table.num_rows}

    rounds = int(params.get("rounds", 5))
    table = read()  # exports the snapshot if this scan was never read: the warm reads below map it
    out = {"bytes": table.nbytes, "rows": table.num_rows, "map": [], "map_baseline": [], "copy": [], "copy_baseline": []}

    def stream():
        local = ctx.lake.local
        ctx.lake.local = False  # what a task on another machine does: the Arrow stream over HTTP
        try:
            return read()
        finally:
            ctx.lake.local = local

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "train.arrow")
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)
        del table
        pairs = {
            "map": (read, lambda: pa.ipc.open_file(pa.memory_map(path, "r")).read_all()),
            "copy": (stream, lambda: pa.ipc.open_file(path).read_all()),
        }
        for i in range(rounds):
            for name, (ours, theirs) in pairs.items():
                sides = [(name, ours), (name + "_baseline", theirs)]
                for key, fn in sides if i % 2 == 0 else reversed(sides):
                    seconds, result = _seconds(fn)
                    del result
                    out[key].append(seconds)
    return out
