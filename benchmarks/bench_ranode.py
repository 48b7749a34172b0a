"""Benchmark of R-ANODE: the w fit on 120k events vs iminuit, flow training and evaluation.

Run ``python benchmarks/bench_ranode.py [--quick]``; prints one JSON object:

* ``w_fit``: :func:`fit_signal_fraction` (MLE + 68/95 % intervals + upper limit + q0) on
  120k SR events vs a plain ``iminuit`` MIGRAD + MINOS fit of the same NLL (the same
  :class:`MixtureNLL` cost, no analytic gradient), and vs MIGRAD only;
* ``maf_training``: events/s per epoch of the small and paper-size background MAF (2 threads);
* ``rqs_training``: the same for the signal RQS flow with the R-ANODE loss;
* ``log_density``: evaluation throughput of the trained flows;
* ``producer``: wall time of the out-of-fold R-ANODE score producer
  (:class:`bumpstat.producers.ranode.RanodeProducer`) on one window: the ``test`` preset on 60k
  events with ``--quick``, else the ``small`` preset on the 1M + 1000 demo sample (minutes);
* ``peak_rss_mb``: peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
from scipy import stats


def _best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))


def bench_w_fit(n: int, repeat: int) -> dict:
    from iminuit import Minuit

    from bumpstat.stats.mixture import MixtureNLL, fit_signal_fraction

    rng = np.random.default_rng(0)
    w = 0.005
    is_sig = rng.random(n) < w
    x = np.where(is_sig[:, None], rng.normal(2.5, 0.3, (n, 2)), rng.normal(0, 1, (n, 2)))
    ls = stats.norm(2.5, 0.3).logpdf(x).sum(1)
    lb = stats.norm.logpdf(x).sum(1)

    res = fit_signal_fraction(ls, lb)
    t_ours, t_ours_med = _best(lambda: fit_signal_fraction(ls, lb), repeat)

    def minuit_full():
        m = Minuit(MixtureNLL(ls, lb), w=0.01)
        m.limits["w"] = (0, 1)
        m.migrad()
        m.minos()
        return m

    def minuit_migrad():
        m = Minuit(MixtureNLL(ls, lb), w=0.01)
        m.limits["w"] = (0, 1)
        m.migrad()
        return m

    def logaddexp_nll(wv):  # the textbook log-space evaluation, as a reference cost
        return -np.sum(np.logaddexp(np.log(wv) + ls, np.log1p(-wv) + lb))

    def minuit_logaddexp():
        m = Minuit(logaddexp_nll, 0.01)
        m.errordef = Minuit.LIKELIHOOD
        m.limits = [(1e-12, 1 - 1e-12)]
        m.migrad()
        m.minos()
        return m

    m = minuit_full()
    t_min, t_min_med = _best(minuit_full, repeat)
    t_mig, _ = _best(minuit_migrad, repeat)
    t_lae, _ = _best(minuit_logaddexp, max(1, repeat // 2))
    return {
        "n_events": n,
        "w_hat": res.w_hat,
        "w_hat_iminuit": float(m.values["w"]),
        "interval_68": list(res.w_interval_68),
        "interval_68_minos": [float(m.values["w"] + m.merrors["w"].lower),
                              float(m.values["w"] + m.merrors["w"].upper)],
        "bumpstat_ms": 1e3 * t_ours,
        "bumpstat_median_ms": 1e3 * t_ours_med,
        "bumpstat_includes": "MLE + 68% + 95% intervals + 95% UL + q0",
        "iminuit_migrad_minos_ms": 1e3 * t_min,
        "iminuit_migrad_minos_median_ms": 1e3 * t_min_med,
        "iminuit_migrad_only_ms": 1e3 * t_mig,
        "iminuit_logaddexp_cost_migrad_minos_ms": 1e3 * t_lae,
        "ratio_iminuit_over_bumpstat": t_min / t_ours,
        "target_ms": 50.0,
    }


def bench_flows(quick: bool) -> dict:
    import torch

    from bumpstat.flows import FlowConfig, fit_flow

    torch.set_num_threads(2)
    rng = np.random.default_rng(1)
    n = 20_000 if quick else 100_000
    z = rng.normal(size=(n, 4))
    ctx = rng.normal(size=(n, 1))
    out: dict = {"threads": torch.get_num_threads(), "n_events": n}
    configs = {
        "maf_small": FlowConfig.maf_small().replace(epochs=2, n_best=1),
        "maf_paper": FlowConfig.maf_paper().replace(epochs=1, n_best=1, val_fraction=0.2,
                                                    max_train_events=20_000),
    }
    for name, cfg in configs.items():
        tf = fit_flow(z, config=cfg, context=ctx, seed=0, progress=False)
        t0 = time.perf_counter()
        tf.log_prob(z, ctx)
        t_eval = time.perf_counter() - t0
        out[name] = {"train_events_per_s": tf.history["events_per_second"],
                     "eval_events_per_s": n / t_eval, "batch_size": cfg.batch_size,
                     "n_blocks": cfg.n_blocks, "hidden": cfg.hidden}
    z5 = rng.normal(size=(n, 5))
    lb = stats.norm.logpdf(z5).sum(1)
    for name, cfg in {"rqs_small": FlowConfig.rqs_small().replace(epochs=2, n_best=1),
                      "rqs_paper": FlowConfig.rqs_paper().replace(epochs=1, n_best=1,
                                                                  max_train_events=20_000)
                      }.items():
        tf = fit_flow(z5, config=cfg, log_p_bg=lb, seed=0, progress=False)
        t0 = time.perf_counter()
        tf.log_prob(z5)
        t_eval = time.perf_counter() - t0
        out[name] = {"train_events_per_s": tf.history["events_per_second"],
                     "eval_events_per_s": n / t_eval, "batch_size": cfg.batch_size,
                     "n_blocks": cfg.n_blocks, "hidden": cfg.hidden}
    return out


def bench_producer(quick: bool) -> dict:
    from bumpstat.data import SyntheticLHCO
    from bumpstat.producers import RanodeProducer
    from bumpstat.windows import sliding_windows

    n_bg, n_sig, preset = (60_000, 400, "test") if quick else (1_000_000, 1000, "small")
    data = SyntheticLHCO().sample(n_background=n_bg, n_signal=n_sig, seed=20240101)
    producer = RanodeProducer(preset)
    t0 = time.perf_counter()
    sf = producer.produce(data, [sliding_windows()[4]], seed=1, progress=False)
    wall = time.perf_counter() - t0
    info = sf.metadata["windows"]["SR5"]
    return {"preset": preset, "n_events": n_bg + n_sig, "n_sr": info["n_data_sr"],
            "n_template": info["n_template"], "n_folds": info["n_folds"], "wall_s": wall,
            "seconds": info["seconds"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer repeats, no paper-size flows")
    ap.add_argument("--no-flows", action="store_true", help="skip the torch part")
    ap.add_argument("--no-producer", action="store_true", help="skip the score producer")
    args = ap.parse_args()
    out = {"w_fit": bench_w_fit(120_000, 5 if args.quick else 20)}
    if not args.no_flows:
        try:
            out["flows"] = bench_flows(args.quick)
        except ImportError as err:  # torch / nflows missing
            out["flows"] = {"skipped": str(err)}
        if not args.no_producer:
            out["producer"] = bench_producer(args.quick)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
