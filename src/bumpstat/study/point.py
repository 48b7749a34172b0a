"""One point of a signal-injection study: the whole chain for one injection, seed and producer.

generate (background + injected signal, the reference sample) → produce the scores → scan with
each background method (direct with delta_sys^MC of the same seed; sideband fit) → global
significance of the direct scan (count pseudo-experiments) → metrics in the true window (SIC at
1e-3, AUC) → for producers that learn the signal fraction (R-ANODE), ŵ against w_true.

delta_sys^MC of a seed and producer does not depend on the injection, so it is a separate task
(:func:`delta_sys_task`) run once and handed to every point of that seed.

Seeds (``root`` = the study seed): the samples of seed index ``i`` come from
``SeedSequence(root, spawn_key=(i, 0))`` (shared by every injection level and producer), the
signal, producer and toys of point ``(i, n)`` from ``SeedSequence(root, spawn_key=(i, 1, n))``.
Nothing depends on which process runs a point.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bumpstat.serialize import jsonable
from bumpstat.study.config import StudyConfig, producer_for

__all__ = ["POINT_FIELDS", "delta_sys_task", "dsys_key", "point_key", "point_seeds", "point_task",
           "sample_seeds"]

#: Fields of every point record (``study.json`` ``points``).
POINT_FIELDS: tuple[str, ...] = (
    "n_signal", "seed", "score_method", "method", "s_over_sqrt_b", "n_signal_sr", "n_sr",
    "z_local_max", "window_max", "eps_b_max", "z_global", "p_global", "z_global_bound",
    "z_true_window", "eps_b_true_window", "sic_at_1e-3", "auc", "w_hat", "w_true", "valid",
    "reason",
)


def sample_seeds(root: int, seed_index: int) -> list[np.random.SeedSequence]:
    """Background, reference, MC data and MC reference seeds of seed index ``seed_index``."""
    return np.random.SeedSequence(root, spawn_key=(seed_index, 0)).spawn(4)


def point_seeds(root: int, seed_index: int, n_signal: int) -> list[np.random.SeedSequence]:
    """Signal, producer, MC producer and global-toy seeds of point ``(seed_index, n_signal)``."""
    return np.random.SeedSequence(root, spawn_key=(seed_index, 1, n_signal)).spawn(3)


def _rng(ss: np.random.SeedSequence) -> np.random.Generator:
    return np.random.default_rng(ss)


def delta_sys_task(config: StudyConfig, score_method: str, seed_index: int) -> dict:
    """delta_sys^MC (Das et al. [arXiv:2411.00085] eqs. 4–5) of one producer and seed: the producer
    run on two
    signal-free samples of the alternative generator; returns ``DeltaSys.to_dict()``.

    A producer whose reference is a simulation (SALAD) gets the nominal generator as its
    simulation here: the roles of the two generators are swapped, as in the data points."""
    from bumpstat.data import SyntheticLHCO
    from bumpstat.direct.delta_sys import estimate_delta_sys

    alt = SyntheticLHCO(variant="alternative")
    producer = producer_for(config, score_method)
    _, _, s_data, s_ref = sample_seeds(config.seed, seed_index)
    sz = config.size
    data = alt.sample_background(sz.n_mc, seed=_rng(s_data))
    ref_gen = SyntheticLHCO() if getattr(producer, "reference_is_simulation", False) else alt
    ref = (ref_gen.sample_background(sz.n_mc, seed=_rng(s_ref))
           if getattr(producer, "needs_reference", False) else None)
    seed = np.random.SeedSequence(config.seed, spawn_key=(seed_index, 2))
    mc = producer.produce(data, config.windows, runs=sz.runs, seed=seed, reference=ref,
                          progress=False)
    return estimate_delta_sys(mc, config.eps_b, kind="mc").to_dict()


def _true_window_metrics(sf: Any, window: str) -> dict[str, Any]:
    from bumpstat.exceptions import InputError
    from bumpstat.metrics import score_file_metrics

    try:
        d = score_file_metrics(sf, windows=[window]).windows[0].to_dict()
    except InputError:
        return {"sic_at_1e-3": None, "auc": None}
    return {"sic_at_1e-3": d.get("sic_at_1e-3"), "auc": d.get("auc")}


def _w_hat(sf: Any, window: str) -> float | None:
    info = (sf.metadata or {}).get("windows", {}).get(window, {})
    w = info.get("w_learned") if isinstance(info, dict) else None
    if w is None:
        return None
    arr = np.asarray(w, dtype=np.float64)
    return float(np.nanmean(arr)) if np.isfinite(arr).any() else None


def _method_record(scan: Any, method: str, true_window: str) -> dict[str, Any]:
    pts = scan.select(method=method)
    zs = np.array([p.mean("z") for p in pts])
    rec: dict[str, Any] = {"z_local_max": None, "window_max": None, "eps_b_max": None,
                           "z_true_window": None, "eps_b_true_window": None}
    if np.isfinite(zs).any():
        best = pts[int(np.nanargmax(zs))]
        rec.update(z_local_max=float(np.nanmax(zs)), window_max=best.window.name,
                   eps_b_max=best.eps_b)
    tw = [(p.mean("z"), p.eps_b) for p in pts if p.window.name == true_window
          and np.isfinite(p.mean("z"))]
    if tw:
        z, e = max(tw)
        rec.update(z_true_window=float(z), eps_b_true_window=float(e))
    bad = [p for p in pts if not p.all_valid]
    rec["valid"] = not bad
    rec["reason"] = (f"{len(bad)} of {len(pts)} scan points not valid (e.g. {bad[0].window.name}"
                     f" at eps_b = {bad[0].eps_b:g}: {bad[0].reason})" if bad else None)
    return rec


def point_task(config: StudyConfig, score_method: str, n_signal: int, seed_index: int,
               delta_sys: dict | None, write_to: str | None = None) -> dict:
    """Run one point; return ``{"key", "records": [one per method], "seconds"}``.

    With ``write_to`` (a points directory that exists where the task runs) the point file is
    also written there, atomically, as soon as the point is done.
    """
    from bumpstat.data import SyntheticLHCO
    from bumpstat.direct.delta_sys import DeltaSys
    from bumpstat.estimators import DirectEstimator, SidebandFitEstimator
    from bumpstat.events import Events
    from bumpstat.scan import run_scan

    t0 = time.perf_counter()
    gen = SyntheticLHCO()
    sz = config.size
    s_bkg, s_ref, _, _ = sample_seeds(config.seed, seed_index)
    s_sig, s_prod, s_toys = point_seeds(config.seed, seed_index, n_signal)
    producer = producer_for(config, score_method)
    methods = config.methods_for(score_method)
    bkg = gen.sample_background(sz.n_background, seed=_rng(s_bkg))
    sig_rng = _rng(s_sig)
    data = Events.concatenate(bkg, gen.sample_signal(n_signal, seed=sig_rng)).shuffled(sig_rng)
    # the reference of IAD/exact is the data's own background model; SALAD's is a simulation
    ref_gen = (SyntheticLHCO(variant="alternative")
               if getattr(producer, "reference_is_simulation", False) else gen)
    ref = (ref_gen.sample_background(sz.n_reference, seed=_rng(s_ref))
           if getattr(producer, "needs_reference", False) else None)
    sf = producer.produce(data, config.windows, runs=sz.runs, seed=s_prod, reference=ref,
                          score_range=config.fit_range if "fit" in methods else None,
                          progress=False)
    ests: list[Any] = []
    if "direct" in methods:
        ests.append(DirectEstimator(delta_sys=None if delta_sys is None
                                    else DeltaSys.from_dict(delta_sys)))
    if "fit" in methods:
        ests.append(SidebandFitEstimator(fit_range=config.fit_range))
    scan = run_scan(sf, estimators=ests, eps_b=config.eps_b, progress=False)
    tw = config.true_window
    in_w = tw.contains(data.m)
    n_sig_sr = int(np.count_nonzero(in_w & (data.label == 1)))
    n_sr = int(np.count_nonzero(in_w))
    f_s = gen.fraction_in(tw.low, tw.high, component="signal")
    b = sz.n_background * gen.fraction_in(tw.low, tw.high)
    common = {"n_signal": int(n_signal), "seed": int(seed_index), "score_method": score_method,
              "s_over_sqrt_b": float(n_signal * f_s / np.sqrt(b)), "n_signal_sr": n_sig_sr,
              "n_sr": n_sr, **_true_window_metrics(sf, tw.name)}
    w_hat = _w_hat(sf, tw.name)
    if w_hat is not None:
        common.update(w_hat=w_hat, w_true=n_sig_sr / n_sr if n_sr else None)
    records = []
    for m in methods:
        rec = {**common, "method": m, **_method_record(scan, m, tw.name),
               "z_global": None, "p_global": None, "z_global_bound": None}
        if m == "direct" and config.n_toys and rec["z_local_max"] is not None:
            from bumpstat.global_significance import global_significance

            g = global_significance(sf, scan, n_toys=config.n_toys, seed=s_toys,
                                    upcrossing_toys=0, progress=False)
            rec.update(z_global=g.z_global, p_global=g.p_global,
                       z_global_bound="lower" if g.p_global_bound == "upper" else None)
        records.append(rec)
    out = jsonable({"schema": "bumpstat-study-point", "version": 1,
                    "key": point_key(score_method, n_signal, seed_index),
                    "fingerprint": config.fingerprint(), "records": records,
                    "seconds": round(time.perf_counter() - t0, 3)})
    if write_to is not None:
        _write_if_dir(write_to, out["key"], out)
    return out


def point_key(score_method: str, n_signal: int, seed_index: int) -> str:
    """File stem of a point: ``<producer>_n<n_signal>_s<seed>``."""
    return f"{score_method}_n{int(n_signal)}_s{int(seed_index)}"


def dsys_key(score_method: str, seed_index: int) -> str:
    """File stem of a delta_sys task: ``dsys_<producer>_s<seed>``."""
    return f"dsys_{score_method}_s{int(seed_index)}"


def _write_if_dir(directory: str, key: str, obj: Any) -> None:
    from pathlib import Path

    from bumpstat.outputs import check_name, write_json

    d = Path(directory)
    if d.is_dir():
        write_json(d / check_name(f"{key}.json", "point file name"), obj)

