"""The driver's pools of warm actors (mode ``actors``).

A pool is a list of slots; a slot takes one task at a time. A plain pool's slot is one actor; a
gang pool's slot is ``gang`` actors in a placement group that form one process group
(ray_gang.py). Slots are made on demand up to ``max_actors`` (counted in slots) and kept warm:
``min_actors`` always, the others until idle for ``idle_timeout_s`` (0 actors when min is 0).

Everything here runs in the driver's main thread; Ray calls are asynchronous (ObjectRefs), so a
slot that is still starting takes its first task at once: Ray queues the call until the actor
is up, and a gang rank's ``run`` depends on its ``join_gang`` result, so it starts only once the
gang is formed.
"""
import itertools
import time

import ray
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from .ray_actors import TaskActor

_RemoteActor = ray.remote(TaskActor)
_ids = itertools.count(1)


class PoolConfig:
    def __init__(self, name, raw):
        self.name = name
        self.num_cpus = float(raw.get("num_cpus", 1))
        self.num_gpus = float(raw.get("num_gpus", 0))
        self.resources = dict(raw.get("resources") or {})
        self.min_actors = int(raw.get("min_actors", 0))
        self.max_actors = max(int(raw.get("max_actors", 1)), self.min_actors, 1)
        self.idle_timeout_s = float(raw.get("idle_timeout_s", 300))
        self.preload = [str(m) for m in raw.get("preload") or []]
        self.gang = max(int(raw.get("gang", 1)), 1)


class Slot:
    def __init__(self, cfg):
        self.id = "%s-%d" % (cfg.name, next(_ids))
        self.cfg = cfg
        self.pg = None
        options = {"num_cpus": cfg.num_cpus, "num_gpus": cfg.num_gpus, "resources": cfg.resources,
                   "max_concurrency": 2, "max_restarts": 0}
        if cfg.gang > 1:
            bundle = {"CPU": cfg.num_cpus, **({"GPU": cfg.num_gpus} if cfg.num_gpus else {}), **cfg.resources}
            self.pg = placement_group([dict(bundle) for _ in range(cfg.gang)], strategy="PACK")
        self.actors = []
        for rank in range(cfg.gang):
            opts = dict(options)
            if self.pg is not None:
                opts["scheduling_strategy"] = PlacementGroupSchedulingStrategy(self.pg, placement_group_bundle_index=rank)
            self.actors.append(_RemoteActor.options(**opts).remote(cfg.name, cfg.preload, rank, cfg.gang))
        self.info = self.actors[0].info.remote()
        if cfg.gang > 1:
            address = self.actors[0].rendezvous.remote()
            self.joined = [a.join_gang.remote(address) for a in self.actors]
        else:
            self.joined = [None]
        self.task = None
        self.idle_since = time.monotonic()

    def start(self, item, api_url):
        """The run refs of a task, one per rank. Rank 0 reports; a gang's outcome waits for finish()."""
        self.task = item["task_id"]
        gang = self.cfg.gang > 1
        return [actor.run.remote(item, api_url, hold=gang, report=(rank == 0), after=self.joined[rank])
                for rank, actor in enumerate(self.actors)]

    def release(self):
        self.task = None
        self.idle_since = time.monotonic()

    def kill(self):
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        if self.pg is not None:
            remove_placement_group(self.pg)


class Pool:
    def __init__(self, cfg):
        self.cfg = cfg
        self.slots = []
        self.ensure_min()

    def busy(self):
        return sum(1 for s in self.slots if s.task is not None)

    def free(self):
        return self.cfg.max_actors - self.busy()

    def has_idle(self):
        return any(s.task is None for s in self.slots)

    def take(self):
        """An idle slot (the longest idle first: its actors are surely up), else a new one, else None."""
        idle = [s for s in self.slots if s.task is None]
        if idle:
            return min(idle, key=lambda s: s.idle_since)
        if len(self.slots) < self.cfg.max_actors:
            slot = Slot(self.cfg)
            self.slots.append(slot)
            return slot
        return None

    def replace(self, slot):
        """Kill a slot's actors (cancelled, failed rank, dead actor) and keep the pool at its minimum."""
        slot.kill()
        if slot in self.slots:
            self.slots.remove(slot)
        self.ensure_min()

    def ensure_min(self):
        while len(self.slots) < self.cfg.min_actors:
            self.slots.append(Slot(self.cfg))

    def reap_idle(self, now):
        extra = len(self.slots) - self.cfg.min_actors
        for slot in sorted((s for s in self.slots if s.task is None), key=lambda s: s.idle_since):
            if extra <= 0 or now - slot.idle_since < self.cfg.idle_timeout_s:
                break
            slot.kill()
            self.slots.remove(slot)
            extra -= 1

    def shutdown(self):
        for slot in self.slots:
            slot.kill()
        self.slots = []
