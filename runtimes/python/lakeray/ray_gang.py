"""One rank of a gang: N actors of a pool that form one torch.distributed process group.

The driver makes the gang's actors in a placement group, asks rank 0 for a rendezvous address
(its node's IP and a free port) and has every rank join the group (gloo; NCCL is for GPUs and
takes the same rendezvous). Each rank then runs every task of the gang: the script may define
``setup()``, called once per gang and per version of the script before its first task (load the
model once, keep it resident); its return value is what ``member().state`` gives ``run()``.

A script sees its rank the torch way too: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
MASTER_PORT are in its environment, and torch.distributed is already initialized.
"""
import datetime
import importlib.machinery
import importlib.util
import os
import socket
import sys

JOIN_TIMEOUT_S = 120


class Member:
    def __init__(self, rank, world_size, address):
        self.rank = rank
        self.world_size = world_size
        self.address = address
        self.state = None
        self._setup_of = None  # (script, file stamp) setup() last ran for


_member = None


def member():
    """This actor's place in its gang (None outside a gang)."""
    return _member


def rendezvous_address():
    import ray

    ip = ray.util.get_node_ip_address()
    with socket.socket() as s:  # a port free now; rank 0 binds it right after, in join()
        s.bind((ip, 0))
        port = s.getsockname()[1]
    return "%s:%d" % (ip, port)


def join(address, rank, world_size):
    global _member
    import torch.distributed as dist

    host, port = address.rsplit(":", 1)
    os.environ.update(MASTER_ADDR=host, MASTER_PORT=port)
    dist.init_process_group("gloo", init_method="tcp://%s" % address, rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=JOIN_TIMEOUT_S))
    _member = Member(rank, world_size, address)


def env(rank, world_size):
    host, port = _member.address.rsplit(":", 1)
    return {"RANK": str(rank), "WORLD_SIZE": str(world_size), "LOCAL_RANK": "0",
            "MASTER_ADDR": host, "MASTER_PORT": port}


def ensure_setup(job):
    """Run the script's setup() unless it ran for this version of the script already."""
    script = job["script"]
    st = os.stat(script)
    stamp = (script, st.st_mtime_ns, st.st_size, st.st_ino)
    if _member._setup_of == stamp:
        return
    loader = importlib.machinery.SourceFileLoader("lakeray_gang_setup", script)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    directory = os.path.dirname(script)
    saved_cwd, saved_path = os.getcwd(), list(sys.path)
    try:
        os.chdir(directory)
        sys.path.insert(0, directory)
        loader.exec_module(module)
        setup = getattr(module, "setup", None)
        _member.state = setup() if callable(setup) else None
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
    _member._setup_of = stamp
