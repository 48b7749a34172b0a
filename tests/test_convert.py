"""Your own data in: score files from pandas, numpy, awkward and ROOT (bumpstat convert)."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from bumpstat.cli import main
from bumpstat.exceptions import InputError, ScoreFileError
from bumpstat.scores import read_scores
from bumpstat.scores.convert import from_arrays, from_dataframe, from_root, from_table, read_table
from bumpstat.windows import Window

pd = pytest.importorskip("pandas")
uproot = pytest.importorskip("uproot")
ak = pytest.importorskip("awkward")


def _events(n=2000, n_t=4000, seed=0):
    rng = np.random.default_rng(seed)
    data = {"mjj": rng.uniform(3000.0, 4000.0, n), "s0": rng.random(n), "s1": rng.random(n),
            "truth": (rng.random(n) < 0.01).astype(np.int32), "w": rng.uniform(0.5, 1.5, n),
            "fold": rng.integers(0, 5, n).astype(np.int32), "id": np.arange(n, dtype=np.int64)}
    tmpl = {"s0": rng.random(n_t), "s1": rng.random(n_t), "mt": rng.uniform(3300, 3700, n_t),
            "wt": np.full(n_t, 0.25)}
    return data, tmpl


WINS = [(3300.0, 3700.0, "SR5"), (3400.0, 3800.0, "SR6")]


def test_dataframe_mapping_gev_to_tev():
    data, tmpl = _events()
    sf = from_dataframe(pd.DataFrame(data), pd.DataFrame(tmpl), m="mjj", scores=["s0", "s1"],
                        label="truth", weight="w", fold="fold", event_id="id",
                        template_weight="wt", template_m="mt", windows=WINS, mass_unit="GeV",
                        method="mine")
    assert sf.window_names == ("SR5", "SR6") and sf.n_runs == 2 and sf.method == "mine"
    ws = sf["SR5"]
    assert ws.window == Window(3.3, 3.7, "SR5")
    np.testing.assert_allclose(ws.data.m, data["mjj"] / 1000)
    np.testing.assert_array_equal(ws.data.scores[1], data["s1"])
    np.testing.assert_array_equal(ws.data.label, data["truth"])
    np.testing.assert_array_equal(ws.data.event_id, data["id"])
    np.testing.assert_allclose(ws.template.weight, 0.25)
    assert sf.metadata["mass_unit_in"] == "GeV" and sf.metadata["columns"]["m"] == "mjj"


def test_numpy_awkward_and_dict_agree(tmp_path):
    data, tmpl = _events(seed=1)
    a = from_table(data, tmpl, m="mjj", scores=["s0", "s1"], windows=WINS, mass_unit="GeV")
    b = from_arrays(m=ak.Array(data["mjj"]), scores=np.stack([data["s0"], data["s1"]]),
                    template_scores=np.stack([tmpl["s0"], tmpl["s1"]]), windows=WINS,
                    mass_unit="GeV")
    c = from_table(ak.Array(data), ak.Array(tmpl), m="mjj", scores=["s0", "s1"], windows=WINS,
                   mass_unit="GeV")
    for other in (b, c):
        for wa, wb in zip(a.windows, other.windows, strict=True):
            np.testing.assert_array_equal(wa.data.scores, wb.data.scores)
            np.testing.assert_array_equal(wa.data.m, wb.data.m)
            np.testing.assert_array_equal(wa.template.scores, wb.template.scores)


def test_template_selection_and_per_window_columns():
    data, tmpl = _events(seed=2)
    data["score_SR5"], data["score_SR6"] = data["s0"], data["s1"]
    tmpl["score_SR5"], tmpl["score_SR6"] = tmpl["s0"], tmpl["s1"]
    tmpl["win"] = np.where(np.arange(tmpl["s0"].size) % 2, "SR5", "SR6")
    sf = from_table(data, tmpl, m="mjj", scores="score_{window}", windows=WINS, mass_unit="GeV",
                    template_m="mt", template_select="mass")
    np.testing.assert_array_equal(sf["SR6"].data.scores[0], data["s1"])
    assert np.all((sf["SR6"].template.m >= 3.4) & (sf["SR6"].template.m < 3.8))
    by_col = from_table(data, tmpl, m="mjj", scores="score_{window}", windows=WINS,
                        mass_unit="GeV", template_select="column:win")
    assert by_col["SR5"].template.n_events == tmpl["s0"].size // 2


def test_errors_name_the_columns():
    data, tmpl = _events()
    with pytest.raises(InputError, match="no column 'mass'.*mjj"):
        from_table(data, tmpl, m="mass", scores=["s0"], windows=WINS, mass_unit="GeV")
    with pytest.raises(InputError, match="mass_unit"):
        from_table(data, tmpl, m="mjj", scores=["s0"], windows=WINS, mass_unit="MeV")
    bad = dict(data, s0=np.where(np.arange(data["s0"].size) == 3, np.nan, data["s0"]))
    with pytest.raises(ScoreFileError, match="non-finite"):
        from_table(bad, tmpl, m="mjj", scores=["s0"], windows=WINS, mass_unit="GeV")
    with pytest.raises(InputError, match="jagged"):
        from_table({"m": ak.Array([[3.4], [3.5, 3.6]]), "s": ak.Array([[0.1], [0.2]])},
                   {"s": np.ones(3)}, m="m", scores="s", windows=[(3.3, 3.7)])


def _write_root(path, data, tmpl):
    with uproot.recreate(path) as f:
        for name, table in (("events", data), ("template", tmpl)):
            f.mktree(name, {k: v.dtype for k, v in table.items()}).extend(table)


def test_root_tree_and_cli(tmp_path):
    data, tmpl = _events(seed=3)
    root = tmp_path / "scored.root"
    _write_root(root, data, tmpl)
    api = from_root(root, tree="events", template_tree="template", m="mjj",
                    scores=["s0", "s1"], label="truth", windows=WINS, mass_unit="GeV")
    assert read_table(f"{root}:events", columns=["mjj"])["mjj"].size == data["mjj"].size
    out = tmp_path / "scores.h5"
    res = CliRunner().invoke(main, [
        "convert", str(root), "-o", str(out), "--tree", "events", "--template-tree", "template",
        "--m", "mjj", "--score", "s0", "s1", "--label", "truth", "--weight", "w",
        "--event-id", "id", "--fold", "fold", "--template-weight", "wt",
        "--window", "SR5:3300:3700", "--window", "SR6:3400:3800", "--mass-unit", "GeV",
        "--method", "mine", "--json", "--quiet"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["n_runs"] == 2 and [w["name"] for w in summary["windows"]] == ["SR5", "SR6"]
    sf = read_scores(out)
    np.testing.assert_array_equal(sf["SR5"].data.scores, api["SR5"].data.scores)
    np.testing.assert_allclose(sf["SR5"].data.m, data["mjj"] / 1000)
    np.testing.assert_allclose(sf["SR6"].template.weight, 0.25)
    assert sf.method == "mine"


def test_cli_errors(tmp_path):
    data, tmpl = _events(seed=4)
    root = tmp_path / "scored.root"
    _write_root(root, data, tmpl)
    res = CliRunner().invoke(main, ["convert", str(root), "-o", str(tmp_path / "x.h5"),
                                    "--score", "s0"])
    assert res.exit_code == 2 and "2 trees" in res.output and "--tree" in res.output
    res = CliRunner().invoke(main, ["convert", str(root), "-o", str(tmp_path / "x.h5"),
                                    "--tree", "events", "--template-tree", "template",
                                    "--m", "nope", "--score", "s0"])
    assert res.exit_code == 2 and "no column 'nope'" in res.output and "mjj" in res.output
    assert CliRunner().invoke(main, ["convert", "--help"]).exit_code == 0


# -- the fit takes histograms and ROOT inputs ---------------------------------------------------
def _spectrum(seed=1, n=100_000):
    rng = np.random.default_rng(seed)
    m = 2.8 * (1 + rng.pareto(6, n))
    return m[m < 5.2]


def test_fit_accepts_boost_histogram_weighted_or_not():
    bh = pytest.importorskip("boost_histogram")
    from bumpstat.fit import bumphunt, bumphunt_histogram, make_edges

    m = _spectrum()
    e = make_edges((2.8, 5.2), 30, (3.3, 3.7))
    ref = bumphunt(m, window=(3.3, 3.7))
    h = bh.Histogram(bh.axis.Variable(e)).fill(m)
    assert bumphunt(h, window=(3.3, 3.7)).z == pytest.approx(ref.z, rel=1e-9)
    w = np.full(m.size, 0.5)
    hw = bh.Histogram(bh.axis.Variable(e), storage=bh.storage.Weight()).fill(m, weight=w)
    assert bumphunt(hw, window=(3.3, 3.7)).z == pytest.approx(
        bumphunt(m, window=(3.3, 3.7), weights=w).z, rel=1e-9)
    fit, test = bumphunt_histogram(h, sr=(3.3, 3.7))
    assert test.z == pytest.approx(ref.z, rel=1e-9)
    wide = bh.Histogram(bh.axis.Variable(np.concatenate([[2.0, 2.4], e, [6.0]]))).fill(m)
    assert bumphunt(wide, window=(3.3, 3.7)).z == pytest.approx(ref.z, rel=1e-9)
    with pytest.raises(InputError, match="histogram"):
        bumphunt(h, window=(3.3, 3.7), eps_b=0.1)


def test_fit_sideband_and_function_choice_accept_histograms():
    bh = pytest.importorskip("boost_histogram")
    from bumpstat.fit import fit_sideband, histogram, make_edges, select_function

    m = _spectrum()
    e = make_edges((2.8, 5.2), 30, (3.3, 3.7))
    counts, _ = histogram(m, e)
    h = bh.Histogram(bh.axis.Variable(e)).fill(m)
    ref = fit_sideband(counts, e, sr=(3.3, 3.7))
    got = fit_sideband(h, sr=(3.3, 3.7))
    assert got.parameters == pytest.approx(ref.parameters, rel=1e-9)
    assert got.variances is None
    # weighted: the variances come from the histogram (scaled Poisson likelihood)
    w = np.full(m.size, 0.5)
    hw = bh.Histogram(bh.axis.Variable(e), storage=bh.storage.Weight()).fill(m, weight=w)
    cw, vw = histogram(m, e, weights=w)
    fw = fit_sideband(hw, sr=(3.3, 3.7))
    np.testing.assert_allclose(fw.variances, vw, rtol=1e-12)
    assert fw.parameters == pytest.approx(
        fit_sideband(cw, e, sr=(3.3, 3.7), variances=vw).parameters, rel=1e-9)
    assert select_function(h, sr=(3.3, 3.7)).chosen == select_function(
        counts, e, sr=(3.3, 3.7)).chosen
    with pytest.raises(InputError, match="either a histogram"):
        fit_sideband(h, e, sr=(3.3, 3.7))
    with pytest.raises(InputError, match="edges are needed"):
        fit_sideband(counts, sr=(3.3, 3.7))


def test_fit_cli_reads_root_histogram_and_branch(tmp_path):
    bh = pytest.importorskip("boost_histogram")
    from bumpstat.fit import make_edges

    m = _spectrum(seed=2)
    e = make_edges((2.8, 5.2), 30, (3.3, 3.7))
    np.save(tmp_path / "m.npy", m)
    with uproot.recreate(tmp_path / "m.root") as f:
        f["h_mjj"] = bh.Histogram(bh.axis.Variable(e * 1000)).fill(m * 1000)
        f.mktree("events", {"mjj": np.float64}).extend({"mjj": m * 1000})
    zs = []
    for args in ([str(tmp_path / "m.npy")],
                 [str(tmp_path / "m.root"), "--key", "h_mjj", "--mass-unit", "GeV"],
                 [f"{tmp_path / 'm.root'}:events/mjj", "--mass-unit", "GeV"]):
        res = CliRunner().invoke(main, ["fit", *args, "--sr", "3.3", "3.7", "--json"])
        assert res.exit_code == 0, res.output
        zs.append(json.loads(res.output)["z"])
    assert zs[1] == pytest.approx(zs[0], rel=1e-8) and zs[2] == pytest.approx(zs[0], rel=1e-8)
    res = CliRunner().invoke(main, ["fit", str(tmp_path / "m.root"), "--sr", "3.3", "3.7"])
    assert res.exit_code == 2 and "h_mjj" in res.output and "events" in res.output
