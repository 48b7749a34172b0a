"""Where independent tasks run: in this process, a local process pool, or a Dask cluster.

:func:`run_tasks` is the one fan-out used by scans, pseudo-experiments and studies. ``executor``
is one of

- ``None`` or ``"serial"``: in this process, in order;
- ``"process"``: a local :class:`~concurrent.futures.ProcessPoolExecutor` started with the
  ``spawn`` method (the same on Linux, macOS and Windows), ``max_workers`` processes
  (default: the CPUs really available, :func:`available_cpus`);
- a scheduler address such as ``"tcp://10.0.0.5:8786"``: a ``dask.distributed`` client is
  connected for the call and closed afterwards;
- any :class:`concurrent.futures.Executor` or a ``dask.distributed.Client``: used as given.

Results come back in task order whatever runs them. Every task function and argument must
pickle; nothing relies on state set up by an import in the parent process.

Thread counts come from what is really available, never from an assumed core count:
:func:`available_cpus` (CPU affinity, ``OMP_NUM_THREADS``) and, for torch, :func:`idle_cpus`
(those of them not busy with other processes right now). :func:`torch_threads` sets torch's
intra-op thread count for a block only and restores the caller's setting afterwards.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError

__all__ = ["available_cpus", "available_memory", "check_workers", "idle_cpus", "run_tasks",
           "seed_sequence", "spawn_seeds", "torch_threads"]


def available_cpus() -> int:
    """CPUs this process may really use: its CPU affinity, capped by ``OMP_NUM_THREADS``.

    >>> available_cpus() >= 1
    True
    """
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    omp = os.environ.get("OMP_NUM_THREADS", "").strip()
    if omp.isdigit() and int(omp) > 0:
        n = min(n, int(omp))
    return max(int(n), 1)


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (``MemAvailable`` of /proc/meminfo, capped
    by a cgroup v2 ``memory.max``), or None where that is unknown."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    cgroup = Path("/sys/fs/cgroup")
    try:
        limit = (cgroup / "memory.max").read_text().strip()
        if limit.isdigit() and avail is not None:
            used = int((cgroup / "memory.current").read_text().strip())
            avail = min(avail, max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return avail


def _cpu_times(cpus: set[int]) -> tuple[float, float] | None:
    """(idle, total) jiffies summed over ``cpus`` from /proc/stat, or None if unavailable."""
    try:
        with open("/proc/stat") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    idle = total = 0.0
    for line in lines:
        name, _, rest = line.partition(" ")
        if not (name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus):
            continue
        vals = [float(v) for v in rest.split()]
        idle += vals[3] + (vals[4] if len(vals) > 4 else 0.0)  # idle + iowait
        total += sum(vals[:8])
    return (idle, total) if total > 0 else None


def idle_cpus(sample: float = 0.05) -> int:
    """How many of :func:`available_cpus` are idle now: measured over ``sample`` seconds.

    Reads ``/proc/stat`` for the CPUs of this process's affinity twice, ``sample`` s apart
    (this process sleeps meanwhile, so its own load does not count), and rounds the idle
    fraction to whole CPUs: at least 1, at most :func:`available_cpus`. Without ``/proc/stat``
    it is :func:`available_cpus`. A CPU-bound neighbour on a 2-core machine gives 1, so a
    thread pool does not spin against it (a barrier waiting for a descheduled thread made
    flow epochs 20x slower).

    >>> 1 <= idle_cpus() <= available_cpus()
    True
    """
    limit = available_cpus()
    try:
        cpus = set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return limit
    first = _cpu_times(cpus)
    if first is None:
        return limit
    time.sleep(max(float(sample), 0.0))
    second = _cpu_times(cpus)
    if second is None or second[1] <= first[1]:
        return limit
    idle_fraction = (second[0] - first[0]) / (second[1] - first[1])
    return int(min(limit, max(1, round(idle_fraction * len(cpus)))))


@contextlib.contextmanager
def torch_threads(n: int | None = None, *, adapt: bool = True) -> Iterator[int]:
    """Run a block with ``n`` torch intra-op threads and restore the caller's count after it.

    Parameters
    ----------
    n : int, optional
        Upper bound on the threads (default :func:`available_cpus`).
    adapt : bool, keyword-only
        Also cap by :func:`idle_cpus`, so that a busy machine gets fewer threads. The thread
        count changes only the order of floating-point sums (last bits), not the result's
        meaning; pass ``adapt=False`` and a fixed ``n`` for bit-identical reruns.

    Yields
    ------
    int
        The thread count used inside the block. torch's process-wide setting is restored on
        exit, also after an exception or an interrupt.
    """
    from bumpstat._extras import require

    torch = require("torch")
    want = check_workers(n, "n_threads") or available_cpus()
    if adapt:
        want = min(want, idle_cpus())
    before = torch.get_num_threads()
    try:
        if want != before:
            torch.set_num_threads(want)
        yield want
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def check_workers(n: Any, option: str = "max_workers") -> int | None:
    """``None`` or a positive int; anything else is an :class:`InputError` naming ``option``."""
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or int(n) < 1:
        raise InputError(f"{option} must be a positive integer, got {n!r}")
    return int(n)


def seed_sequence(seed: Any) -> np.random.SeedSequence:
    """A :class:`numpy.random.SeedSequence` from an int >= 0, a SeedSequence or a Generator."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2**63 - 1)))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise InputError(f"seed must be an integer >= 0, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def spawn_seeds(seed: Any, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent child seeds of ``seed``, one per task (same seed, same children)."""
    return seed_sequence(seed).spawn(int(n))


def _is_dask_client(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "distributed" and hasattr(obj, "submit")


@contextlib.contextmanager
def _resolve(executor: Any, max_workers: int | None) -> Iterator[Any]:
    if executor is None or executor == "serial":
        yield None
    elif executor == "process":
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max_workers or available_cpus(),
                                 mp_context=ctx) as pool:
            yield pool
    elif isinstance(executor, str) and "://" in executor:
        from bumpstat._extras import require

        distributed = require("distributed")
        try:
            client = distributed.Client(executor, timeout="20s")
        except (OSError, TimeoutError) as err:
            raise InputError(f"cannot connect to the Dask scheduler {executor!r}: {err}") from err
        with client:
            yield client
    elif isinstance(executor, Executor) or _is_dask_client(executor):
        yield executor
    else:
        raise InputError(
            f"executor must be 'serial', 'process', a scheduler address (tcp://host:port), a "
            f"concurrent.futures.Executor or a dask.distributed.Client, got {executor!r}"
        )


def run_tasks(func: Callable[..., Any], tasks: Sequence[tuple], *, executor: Any = None,
              max_workers: int | None = None, progress: bool = True,
              desc: str = "tasks") -> list[Any]:
    """``[func(*t) for t in tasks]``, run where ``executor`` says, results in task order."""
    from tqdm.auto import tqdm

    max_workers = check_workers(max_workers)
    tasks = list(tasks)
    out: list[Any] = []
    with _resolve(executor, max_workers) as pool, \
            tqdm(total=len(tasks), desc=desc, unit="task", disable=not progress,
                 leave=False) as bar:
        if pool is None:
            for t in tasks:
                out.append(func(*t))
                bar.update()
        else:
            kw = {"pure": False} if _is_dask_client(pool) else {}
            futures = [pool.submit(func, *t, **kw) for t in tasks]
            try:
                for f in futures:
                    out.append(f.result())
                    bar.update()
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    return out
