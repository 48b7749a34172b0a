"""Thread counts come from what is available, and torch's process-wide setting is restored."""

import os

import numpy as np
import pytest

from bumpstat import parallel


def test_available_cpus_respects_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert parallel.available_cpus() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert parallel.available_cpus() == len(os.sched_getaffinity(0))


def test_idle_cpus_is_bounded():
    assert 1 <= parallel.idle_cpus(0.01) <= parallel.available_cpus()


def test_idle_cpus_without_proc_stat(monkeypatch):
    monkeypatch.setattr(parallel, "_cpu_times", lambda cpus: None)
    assert parallel.idle_cpus(0.0) == parallel.available_cpus()


def test_torch_threads_restores_setting():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    with parallel.torch_threads(1, adapt=False) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), parallel.torch_threads(1, adapt=False):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_torch_threads_rejects_bad_count():
    pytest.importorskip("torch")
    from bumpstat.exceptions import InputError

    with pytest.raises(InputError, match="n_threads"), parallel.torch_threads(-1):
        pass


def test_fit_flow_leaves_torch_threads_unchanged():
    torch = pytest.importorskip("torch")
    pytest.importorskip("nflows")
    from bumpstat.flows.config import FlowConfig
    from bumpstat.flows.flow import fit_flow

    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    torch.set_num_threads(other)
    try:
        cfg = FlowConfig(n_blocks=1, hidden=4, epochs=1, batch_size=64, n_best=1)
        z = np.random.default_rng(0).normal(size=(200, 2))
        fit_flow(z, config=cfg, progress=False, n_threads=1)
        assert torch.get_num_threads() == other
    finally:
        torch.set_num_threads(before)


def test_available_cpus_follows_the_affinity():
    """A process pinned to one CPU (taskset) gets one thread, whatever os.cpu_count() says."""
    import subprocess
    import sys

    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity on this platform")
    code = ("import os; from bumpstat import parallel; "
            "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "print(parallel.available_cpus(), parallel.idle_cpus(0.01), os.cpu_count())")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    assert out[:2] == ["1", "1"]


def test_torch_threads_take_only_the_idle_cpus(monkeypatch):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    monkeypatch.setattr(parallel, "idle_cpus", lambda sample=0.05: 1)  # a busy neighbour
    with parallel.torch_threads(2) as n:
        assert n == 1 and torch.get_num_threads() == 1
    with parallel.torch_threads(2, adapt=False) as n:
        assert n == 2  # an explicit count without adapt is the caller's choice
    assert torch.get_num_threads() == before
