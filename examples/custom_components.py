"""Plug your own score producer and background estimator into bumpstat.

A score producer turns events into a score file; a background estimator turns one window's
scores into scan points. Both are frozen dataclasses of their options deriving from one small
interface, so they pickle and run unchanged on process pools and Dask workers.

Usage: python examples/custom_components.py [OUT_DIR]
"""

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from bumpstat.data import SyntheticLHCO
from bumpstat.direct.estimate import window_counts
from bumpstat.estimators import BackgroundEstimator, DirectEstimator
from bumpstat.producers import ScoreProducer
from bumpstat.scan import run_scan
from bumpstat.scanpoint import ScanPoint
from bumpstat.scores.schema import EventSet, WindowScores
from bumpstat.stats.cutcount import cut_and_count


@dataclass(frozen=True)
class Tau21Producer(ScoreProducer):
    """A cut-based tagger: score = -(tau21_j1 + tau21_j2) (two-prong jets score high).

    Nothing is trained, so nothing needs k-fold; the template is the reference sample.
    """

    name: ClassVar[str] = "tau21"
    needs_reference: ClassVar[bool] = True
    trains: ClassVar[bool] = False

    def score_window(self, data, window, *, runs, seed, reference, score_range, progress):
        def score(ev, mask):
            cols = [ev.feature_names.index(f) for f in ("tau21_j1", "tau21_j2")]
            return np.repeat(-ev.x[mask][:, cols].sum(axis=1)[None, :], runs, axis=0)

        d, t = window.contains(data.m), window.contains(reference.m)
        ws = WindowScores(
            window=window,
            data=EventSet(scores=score(data, d), m=data.m[d], event_id=np.flatnonzero(d),
                          label=None if data.label is None else data.label[d]),
            template=EventSet(scores=score(reference, t), m=reference.m[t],
                              event_id=np.flatnonzero(t)))
        return ws, {"n_data": int(d.sum())}


@dataclass(frozen=True)
class StatOnlyEstimator(BackgroundEstimator):
    """The direct estimate N_exp = eps_b_template * N_SR with the template's statistical
    uncertainty only and an optional flat systematic (relative)."""

    name: ClassVar[str] = "stat_only"
    flat_sys: float = 0.0

    def estimate(self, ws, eps_b, *, cl=0.95):
        c = window_counts(ws, eps_b)
        n_exp = c.eps_b_template * c.n_sr
        rel = np.hypot(c.rel_unc_template, self.flat_sys)
        cc = cut_and_count(c.n_obs, n_exp, rel, cl=cl)
        n_runs = c.n_obs.shape[0]
        return [ScanPoint(method=self.name, window=ws.window, eps_b=e, n_sr=c.n_sr,
                          threshold=c.threshold[:, j], n_obs=c.n_obs[:, j],
                          n_exp=n_exp[:, j], n_exp_unc=(rel * n_exp)[:, j],
                          z=np.asarray(cc.z)[:, j], upper_limit=np.asarray(cc.upper_limit)[:, j],
                          expected_limits=np.asarray(cc.expected_limits)[:, j],
                          valid=np.ones(n_runs, bool), reasons=("",) * n_runs, cl=cl,
                          settings={"flat_sys": self.flat_sys})
                for j, e in enumerate(c.eps_b)]


def main(out: Path) -> None:
    gen = SyntheticLHCO()
    data = gen.sample(n_background=200_000, n_signal=600, seed=1)
    template = gen.sample_background(200_000, seed=2)
    from bumpstat.windows import sliding_windows

    scores = Tau21Producer().produce(data, sliding_windows(), reference=template, seed=0,
                                     progress=False)
    scan = run_scan(scores, estimators=[StatOnlyEstimator(flat_sys=0.05),
                                        DirectEstimator(delta_sys=0.0, sigma_sys=0.05)],
                    eps_b=(1e-2, 1e-3), progress=False)
    # with delta_sys = 0 and the same 5% systematic both estimators give the same numbers
    a = scan.select(method="stat_only", eps_b=1e-2)
    b = scan.select(method="direct", eps_b=1e-2)
    for pa, pb in zip(a, b, strict=True):
        assert np.allclose(pa.n_exp, pb.n_exp) and np.allclose(pa.z, pb.z, atol=1e-6)
    best = scan.max_local(method="stat_only")
    print(f"tau21 tagger: largest local Z = {best.record()['z']:.2f} in {best.window.name}")
    scan.write_json(out / "custom_scan.json")


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
    main(out)
