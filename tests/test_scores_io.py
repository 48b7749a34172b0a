"""Score files: round trips and one clear error per kind of bad input."""

import json

import h5py
import numpy as np
import pytest

from bumpstat.exceptions import BumpstatError, ScoreFileError
from bumpstat.scores import EventSet, ScoreFile, WindowScores, read_scores, write_scores
from bumpstat.windows import Window

from helpers import toy_score_file


@pytest.mark.parametrize("ext", ["h5", "npz"])
def test_round_trip(tmp_path, ext):
    sf = toy_score_file(n_data=500, n_template=800, n_runs=2)
    path = write_scores(tmp_path / f"s.{ext}", sf)
    back = read_scores(path)
    assert back.window_names == sf.window_names
    assert back.method == "toy" and back.metadata == {"seed": 0} and back.n_runs == 2
    for a, b in zip(sf.windows, back.windows, strict=True):
        assert a.window == b.window
        np.testing.assert_array_equal(a.data.scores, b.data.scores)
        np.testing.assert_array_equal(a.data.m, b.data.m)
        np.testing.assert_array_equal(a.data.label, b.data.label)
        np.testing.assert_array_equal(a.template.scores, b.template.scores)
        assert b.template.m is None and b.template.weight is None


def _one_window(**data_kw):
    kw = {"scores": np.zeros((1, 10)), "m": np.full(10, 3.5)} | data_kw
    return WindowScores(Window(3.3, 3.7, "SR5"), EventSet(**kw), EventSet(np.zeros((1, 10))))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_scores(bad):
    s = np.zeros((1, 10))
    s[0, 3] = bad
    with pytest.raises(ScoreFileError, match=r"window 'SR5', field 'data/scores': 1 non-finite"):
        ScoreFile((_one_window(scores=s),))


def test_mismatched_lengths():
    with pytest.raises(ScoreFileError, match=r"field 'data/m': expected shape \(10,\)"):
        ScoreFile((_one_window(m=np.full(9, 3.5)),))


def test_runs_mismatch():
    ws = WindowScores(Window(3.3, 3.7), EventSet(np.zeros((2, 5)), m=np.full(5, 3.5)),
                      EventSet(np.zeros((3, 5))))
    with pytest.raises(ScoreFileError, match="2 classifier run.*template has 3"):
        ScoreFile((ws,))


def test_missing_mass():
    ws = WindowScores(Window(3.3, 3.7), EventSet(np.zeros((1, 5))), EventSet(np.zeros((1, 5))))
    with pytest.raises(ScoreFileError, match=r"'data/m': missing.*present: scores"):
        ScoreFile((ws,))


def test_bad_labels_and_weights():
    with pytest.raises(ScoreFileError, match="labels must be 0"):
        ScoreFile((_one_window(label=np.full(10, 2)),))
    with pytest.raises(ScoreFileError, match="negative weight"):
        ScoreFile((_one_window(weight=-np.ones(10)),))


def test_empty_events():
    with pytest.raises(ScoreFileError, match="no events"):
        ScoreFile((_one_window(scores=np.zeros((1, 0)), m=np.zeros(0)),))


def test_missing_field_in_file_lists_contents(tmp_path):
    path = write_scores(tmp_path / "s.h5", toy_score_file(n_data=50, n_template=50, n_runs=1))
    with h5py.File(path, "a") as f:
        del f["windows/SR3/template/scores"]
    with pytest.raises(ScoreFileError, match=r"s\.h5'.*window 'SR3': missing field "
                                             r"'template/scores' \(present in 'template': "):
        read_scores(path)


def test_missing_field_npz(tmp_path):
    path = write_scores(tmp_path / "s.npz", toy_score_file(n_data=50, n_template=50, n_runs=1))
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k != "SR1/data/scores"}
    np.savez(path, **arrays)
    with pytest.raises(ScoreFileError, match="window 'SR1': missing field 'data/scores'"):
        read_scores(path)


def test_unreadable_and_foreign_files(tmp_path):
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(ScoreFileError, match="cannot be read as HDF5"):
        read_scores(tmp_path / "junk.h5")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ScoreFileError, match="cannot be read as NPZ"):
        read_scores(tmp_path / "junk.npz")
    with pytest.raises(ScoreFileError, match="does not exist"):
        read_scores(tmp_path / "missing.h5")
    with pytest.raises(ScoreFileError, match="unknown score-file format"):
        read_scores(tmp_path / "x.csv")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["schema"] = "something-else"
    with pytest.raises(ScoreFileError, match="not a bumpstat score file"):
        read_scores(tmp_path / "other.h5")


def test_wrong_units_detected(tmp_path):
    path = write_scores(tmp_path / "s.npz", toy_score_file(n_data=50, n_template=50, n_runs=1))
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays["__schema__"]))
    header["mass_unit"] = "GeV"  # masses are really TeV: read as GeV they are 0.0035 TeV
    arrays["__schema__"] = np.array(json.dumps(header))
    np.savez(path, **arrays)
    with pytest.raises(ScoreFileError, match="mass_unit is probably wrong"):
        read_scores(path)


def test_gev_files_are_converted(tmp_path):
    sf = toy_score_file(n_data=50, n_template=50, n_runs=1)
    path = write_scores(tmp_path / "s.npz", sf)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays["__schema__"]))
    header["mass_unit"] = "GeV"
    for w in header["windows"]:
        w["low"], w["high"] = w["low"] * 1e3, w["high"] * 1e3
    arrays = {k: (v * 1e3 if k.endswith("/m") else v) for k, v in arrays.items()}
    arrays["__schema__"] = np.array(json.dumps(header))
    np.savez(path, **arrays)
    back = read_scores(path)
    np.testing.assert_allclose(back["SR1"].data.m, sf["SR1"].data.m)
    assert back["SR1"].window == sf["SR1"].window


def test_all_errors_are_bumpstat_errors():
    assert issubclass(ScoreFileError, BumpstatError)


# --------------------------------------------------------------------------- mass_unit on write
def _with_template_m(sf):
    rng = np.random.default_rng(3)
    return ScoreFile(tuple(WindowScores(w.window, w.data, EventSet(
        w.template.scores, m=rng.uniform(2.8, 5.2, w.template.n_events)))
        for w in sf.windows), method=sf.method, metadata=sf.metadata)


@pytest.mark.parametrize("ext", ["h5", "npz"])
def test_write_in_gev_round_trip(tmp_path, ext):
    sf = _with_template_m(toy_score_file(n_data=300, n_template=400, n_runs=2))
    path = write_scores(tmp_path / f"g.{ext}", sf, mass_unit="GeV")
    # what the file stores: GeV, said by the header
    if ext == "h5":
        with h5py.File(path) as f:
            unit, low = f.attrs["mass_unit"], f["windows/SR5"].attrs["low"]
            m_file = f["windows/SR5/data/m"][()]
            mt_file = f["windows/SR5/template/m"][()]
    else:
        with np.load(path) as z:
            header = json.loads(str(z["__schema__"]))
            m_file, mt_file = z["SR5/data/m"], z["SR5/template/m"]
        unit, low = header["mass_unit"], header["windows"][4]["low"]
    assert unit == "GeV" and low == pytest.approx(3300.0)
    assert 2800 < m_file.min() and m_file.max() < 5200 and 2800 < mt_file.min()
    np.testing.assert_array_equal(m_file, sf["SR5"].data.m * 1000)
    # what is read: TeV again, to within one unit in the last place; scores bit for bit
    back = read_scores(path)
    tev = read_scores(write_scores(tmp_path / f"t.{ext}", sf))
    for a, b, c in zip(sf.windows, back.windows, tev.windows, strict=True):
        assert b.window == a.window == c.window
        np.testing.assert_array_max_ulp(b.data.m, a.data.m, maxulp=1)
        np.testing.assert_array_max_ulp(b.template.m, a.template.m, maxulp=1)
        np.testing.assert_array_equal(b.data.scores, a.data.scores)
        np.testing.assert_array_equal(b.template.scores, c.template.scores)
        np.testing.assert_array_equal(b.data.label, a.data.label)
    assert back.metadata == sf.metadata and back.method == sf.method


def test_write_mass_unit_checked_and_keyword_only(tmp_path):
    from bumpstat.exceptions import InputError

    sf = toy_score_file(n_data=20, n_template=20, n_runs=1)
    for bad in ("MeV", "gev", None):
        with pytest.raises(InputError, match=r"mass_unit must be one of \['GeV', 'TeV'\]"):
            write_scores(tmp_path / "x.h5", sf, mass_unit=bad)
    with pytest.raises(TypeError):
        write_scores(tmp_path / "x.h5", sf, "GeV")  # type: ignore[misc]
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- repr, memory
def test_reprs_are_short_and_say_what_is_held():
    n = 20_000
    rng = np.random.default_rng(0)
    long = "w" * 64
    ws = [WindowScores(Window(2.9 + 0.1 * i, 3.3 + 0.1 * i, f"{long[:-2]}{i:02d}"),
                       EventSet(rng.random((10, n)), m=np.full(n, 3.5), label=np.zeros(n),
                                weight=np.ones(n)),
                       EventSet(rng.random((10, 4 * n))))
          for i in range(9)]
    sf = ScoreFile(tuple(ws), method="m" * 64, source="/very/long/path/" + "d" * 200 + "/s.h5")
    text = {"ScoreFile": repr(sf), "WindowScores": repr(sf.windows[0]),
            "EventSet": repr(sf.windows[0].data)}
    assert all(len(t) < 300 for t in text.values()), {k: len(t) for k, t in text.items()}
    assert "9 window(s)" in text["ScoreFile"] and "10 run(s)" in text["ScoreFile"]
    assert f"data {n}," in text["ScoreFile"] and f"template {4 * n}" in text["ScoreFile"]
    assert text["ScoreFile"].endswith("dd/s.h5')") and "mmmm" in text["ScoreFile"]
    assert "[2.9, 3.3) TeV" in text["WindowScores"]
    assert text["EventSet"] == f"EventSet(10 run(s) x {n} events, m, weight, label)"
    small = toy_score_file(n_data=10, n_template=30, n_runs=2,
                           windows=[Window(3.3, 3.7, "SR5"), Window(3.5, 3.9, "SR6")])
    assert repr(small) == ("ScoreFile(method='toy', 2 window(s) [SR5, SR6], 2 run(s), events "
                           "per window: data 10, template 30)")


def test_float64_arrays_held_without_a_copy_and_read_only():
    s, m = np.zeros((2, 10)), np.full(10, 3.5)
    sf = ScoreFile((WindowScores(Window(3.3, 3.7, "SR5"), EventSet(s, m=m),
                                 EventSet(np.zeros((2, 5), dtype=np.float32))),))
    held = sf.windows[0]
    assert np.shares_memory(held.data.scores, s) and np.shares_memory(held.data.m, m)
    assert held.template.scores.dtype == np.float64  # float32 is cast (a new array)
    for arr in (held.data.scores, held.data.m, held.template.scores):
        assert not arr.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1.0
    assert s.flags.writeable  # the caller's own array is left as it was


def test_building_a_score_file_does_not_copy_float64_scores():
    """The copy of every score array doubled the peak memory of building a score file (2.28 GB
    for bench_global's 1.1M data + 4.4M template x 10 runs): numpy's allocations during the
    build stay far below the size of the scores."""
    import tracemalloc

    n = 1_000_000
    s_d, s_t, m = np.zeros((2, n)), np.zeros((2, 2 * n)), np.full(n, 3.5)
    tracemalloc.start()
    try:
        ScoreFile((WindowScores(Window(3.3, 3.7, "SR5"), EventSet(s_d, m=m),
                                EventSet(s_t)),)).with_metadata(x=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.3 * (s_d.nbytes + s_t.nbytes + m.nbytes), peak
