"""The scan report and `bumpstat scan --out DIR`: observed and expected limits with their bands
in the tables (events, fraction of the SR, cross-section), the limit plots, and the loud
warning when no delta_sys is given."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from bumpstat.cli import main
from bumpstat.estimators import DirectEstimator
from bumpstat.report import limit_table, write_report
from bumpstat.scan import run_scan
from bumpstat.scores.io import write_scores
from bumpstat.stats.cutcount import upper_limit

from helpers import toy_score_file


@pytest.fixture(scope="module")
def scan():
    sf = toy_score_file(n_runs=1, seed=2, n_signal=150)
    return run_scan(sf, estimators=[DirectEstimator(delta_sys=0.05)], eps_b=[1e-2],
                    progress=False)


def _rows(markdown: str) -> list[list[str]]:
    lines = [ln for ln in markdown.splitlines() if ln.startswith("| direct")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]


def _num(cell: str) -> float:
    return float(cell.split()[0])


def test_limit_table_against_the_one_bin_limits(scan):
    """Every row: observed and expected limits equal the one-bin CLs limits computed here from
    the point's N_obs, N_exp and relative uncertainty; the fraction and cross-section columns
    are those limits divided by eps_S N_SR and eps_S L."""
    eff, lumi = 0.5, 100.0
    rows = _rows(limit_table(scan, efficiency=eff, luminosity=lumi))
    recs = sorted((p.record() for p in scan.points), key=lambda r: r["window"]["center"])
    assert len(rows) == len(recs) == 9
    for row, r in zip(rows, recs, strict=True):
        assert row[1].startswith(r["window"]["name"])
        ref = upper_limit(r["n_obs"], r["n_exp"], r["rel_unc"])
        obs, exp = ref.upper_limit, list(ref.expected_limits)
        assert _num(row[4]) == pytest.approx(obs, rel=5e-3)
        for k in range(5):
            assert _num(row[5 + k]) == pytest.approx(exp[k], rel=5e-3)
        assert _num(row[10]) == pytest.approx(obs / (eff * r["n_sr"]), rel=5e-3)
        assert _num(row[11]) == pytest.approx(exp[2] / (eff * r["n_sr"]), rel=5e-3)
        assert _num(row[12]) == pytest.approx(obs / (eff * lumi), rel=5e-3)
        cell = row[13]
        assert _num(cell) == pytest.approx(exp[2] / (eff * lumi), rel=5e-3)
        lo, hi = map(float, re.findall(r"\[(\S+), (\S+)\]", cell)[0])
        assert lo == pytest.approx(exp[1] / (eff * lumi), rel=5e-3)
        assert hi == pytest.approx(exp[3] / (eff * lumi), rel=5e-3)
    # the injected signal sits in the middle window: its observed limit is above the band
    mid = rows[4]
    assert _num(mid[4]) > _num(mid[9])


def test_limit_table_without_efficiency_or_luminosity(scan):
    text = limit_table(scan)
    assert "UL / N_SR" in text and "[fb]" not in text
    row = _rows(text)[0]
    rec = min((p.record() for p in scan.points), key=lambda r: r["window"]["center"])
    assert len(row) == 12
    assert _num(row[10]) == pytest.approx(rec["upper_limit"] / rec["n_sr"], rel=5e-3)


def test_write_report_limit_plots_and_tables(scan, tmp_path):
    files = write_report(tmp_path, scan, luminosity=139.0)
    for stem in ("limits", "limits_fraction", "limits_xsec"):
        png = tmp_path / f"{stem}_direct_eps0.01.png"
        assert png.stat().st_size > 10_000, png
    report = (tmp_path / "report.md").read_text()
    assert "expected −2σ" in report and "σ×ε UL [fb]" in report
    assert "![limits](limits_direct_eps0.01.png)" in report
    assert "No δ_sys was given" not in report
    assert files["report"].endswith("report.md")


def test_scan_cli_without_delta_sys_warns_and_writes_limit_plots(tmp_path):
    sf = toy_score_file(n_runs=1, seed=4, n_signal=100)
    write_scores(tmp_path / "scores.h5", sf)
    out = tmp_path / "scan"
    res = CliRunner().invoke(main, ["scan", str(tmp_path / "scores.h5"), "--out", str(out),
                                    "--eps-b", "1e-2", "--quiet"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "WARNING: no --delta-sys given" in res.stderr
    assert sorted(p.name for p in out.glob("limits*.png")) == [
        "limits_direct_eps0.01.png", "limits_fraction_direct_eps0.01.png"]
    report = (out / "report.md").read_text()
    assert "No δ_sys was given" in report.split("## ")[0]  # at the top, before any section
    results = json.loads((out / "scan.json").read_text())["results"]
    assert results and all(not r["valid"] for r in results)
    assert all("no delta_sys given" in r["reason"] for r in results)
    assert all(np.isfinite(r["z"]) for r in results)  # the numbers are kept for inspection


def test_scan_cli_signal_efficiency_and_luminosity(tmp_path):
    sf = toy_score_file(n_runs=1, seed=4, n_signal=100)
    write_scores(tmp_path / "scores.h5", sf)
    out = tmp_path / "scan"
    res = CliRunner().invoke(main, ["scan", str(tmp_path / "scores.h5"), "--out", str(out),
                                    "--eps-b", "1e-2", "--delta-sys", "0", "--quiet",
                                    "--signal-efficiency", "0.5", "--luminosity", "139"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert (out / "limits_xsec_direct_eps0.01.png").is_file()
    report = (out / "report.md").read_text()
    assert "observed σ UL [fb]" in report and "UL / (ε_S N_SR)" in report
    bad = CliRunner().invoke(main, ["scan", str(tmp_path / "scores.h5"), "--out", str(out),
                                    "--signal-efficiency", "0"])
    assert bad.exit_code == 2 and "--signal-efficiency" in bad.output
