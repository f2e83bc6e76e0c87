"""bench/arrow-read.ts: read the whole train split through the harness (ctx.read_dataset →
the platform's Arrow IPC stream), `rounds` times; report bytes and the seconds of each read.
With params.baseline, also write what was read to a local Arrow IPC file and time pyarrow
reading that file back (the limit), in the same process."""
import os
import tempfile
import time


def run(input_path, output_path, params, ctx):
    import pyarrow as pa

    rounds = int(params.get("rounds", 5))
    seconds = []
    table = None
    for _ in range(rounds):
        table = None
        t0 = time.perf_counter()
        table = ctx.read_dataset(input_path, filter="split = 'train'")
        seconds.append(time.perf_counter() - t0)
    out = {"bytes": table.nbytes, "rows": table.num_rows, "seconds": seconds}
    if params.get("baseline"):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "train.arrow")
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
                w.write_table(table)
            del table
            base = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                with pa.OSFile(path, "rb") as source:
                    local = pa.ipc.open_file(source).read_all()
                base.append(time.perf_counter() - t0)
                del local
        out["baseline_seconds"] = base
    return out
