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
