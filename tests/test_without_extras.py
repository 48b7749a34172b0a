"""The stats core works with torch, nflows and scikit-learn hidden; the extras fail clearly."""

import subprocess
import sys
import textwrap

BLOCK = textwrap.dedent("""
    import sys

    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"torch", "nflows", "sklearn"}:
                raise ImportError(f"{name} is hidden for this test")
            return None

    sys.meta_path.insert(0, _Block())
""")


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=300)


def test_core_without_heavy_extras():
    proc = _run("""
        import numpy as np
        import bumpstat
        import bumpstat.flows
        import bumpstat.producers
        from bumpstat.data import SyntheticLHCO
        from bumpstat.producers.exact import exact_score_file

        assert abs(bumpstat.asimov_significance(384, 120, 0.0913) - 12.058) < 1e-3
        g = SyntheticLHCO()
        d = g.sample(n_background=100_000, n_signal=200, seed=1)
        t = g.sample_background(100_000, seed=2)
        sf = exact_score_file(g, d, t, bumpstat.sliding_windows()[3:6], data_range=(2.8, 5.2))
        scan = bumpstat.run_scan(sf, eps_b=[1e-2], estimators=("direct", "fit"), progress=False)
        assert len(scan.points) == 6
        sr = sf["SR5"].signal_region()
        fit = bumpstat.fit_signal_fraction(g.log_p_sig(d.x, d.m, window=(3.3, 3.7))[
            (d.m >= 3.3) & (d.m < 3.7)], g.log_p_bg(d.x, d.m, window=(3.3, 3.7))[
            (d.m >= 3.3) & (d.m < 3.7)])
        assert fit.w_hat > 0
        print("ok", sorted(m for m in ("torch", "nflows", "sklearn") if m in sys.modules))
    """)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok []")


def test_extras_raise_missing_extra_error():
    proc = _run("""
        import numpy as np
        from bumpstat.classifiers.bdt import BDTConfig, fit_ensemble
        from bumpstat.exceptions import MissingExtraError
        from bumpstat.flows import FlowConfig, fit_flow
        from bumpstat.producers import get_producer

        z = np.random.default_rng(1).normal(size=(200, 2))
        try:
            fit_flow(z, config=FlowConfig(), progress=False)
        except MissingExtraError as err:
            assert "flows" in str(err) and "torch==2.13.0" in str(err), err
        else:
            raise AssertionError("fit_flow ran without torch")
        try:
            fit_ensemble(z, np.r_[np.zeros(100), np.ones(100)], config=BDTConfig.fast())
        except MissingExtraError as err:
            assert "'ml'" in str(err), err
        else:
            raise AssertionError("fit_ensemble ran without scikit-learn")
        from bumpstat.data import SyntheticLHCO
        from bumpstat.windows import Window

        d = SyntheticLHCO().sample(n_background=20_000, n_signal=20, seed=1)
        try:
            get_producer("ranode", preset="test").produce(d, [Window(3.3, 3.7)], progress=False)
        except MissingExtraError as err:
            assert "flows" in str(err), err
        else:
            raise AssertionError("the R-ANODE producer ran without torch")
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok"
