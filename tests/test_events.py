"""The Events container and events files: optional labels and weights, values checked before any
cast, atomic round trips that never invent labels, pickles refused, and metrics that say "no
truth labels" for unlabelled events instead of "no signal"."""

import json
import pickle

import numpy as np
import pytest
from click.testing import CliRunner

from bumpstat.cli import main
from bumpstat.data import Events, SyntheticLHCO, read_events, write_events
from bumpstat.exceptions import InputError, ScoreFileError
from bumpstat.metrics import score_file_metrics
from bumpstat.producers import ExactProducer
from bumpstat.scores import write_scores
from bumpstat.windows import Window


def _ev(label=(0, 1, 0), weight=None):
    return Events(np.array([3.0, 3.4, 3.8]), np.arange(6.0).reshape(3, 2), ("a", "b"),
                  label=None if label is None else np.array(label), weight=weight)


# ---------------------------------------------------------------- the container
def test_container_select_concatenate_shuffle():
    ev = _ev()
    assert len(ev) == 3 and ev.in_range(3.3, 3.7).tolist() == [False, True, False]
    sub = ev.select(ev.in_range(3.3, 3.7))
    assert sub.m.tolist() == [3.4] and sub.x.tolist() == [[2.0, 3.0]] and sub.n_signal == 1
    assert len(ev.select(np.array([], dtype=int))) == 0
    both = Events.concatenate(ev, sub)
    assert len(both) == 4 and both.label.tolist() == [0, 1, 0, 1] and both.weight is None
    assert len(Events.concatenate([ev, sub])) == 4
    sh = ev.shuffled(0)
    np.testing.assert_array_equal(sh.m, ev.shuffled(0).m)
    for j, m in enumerate(sh.m):
        i = ev.m.tolist().index(m)
        assert sh.x[j].tolist() == ev.x[i].tolist() and sh.label[j] == ev.label[i]
    with pytest.raises(InputError, match="features"):
        Events.concatenate(ev, Events(ev.m, ev.x, ("a", "c"), label=ev.label))
    with pytest.raises(InputError, match="boolean mask"):
        ev.select(np.array([True, False]))


def test_labels_and_weights_are_optional():
    ev = _ev(label=None)
    assert not ev.has_labels and ev.label is None and ev.weight is None
    assert "no labels" in repr(ev)
    with pytest.raises(InputError, match="no truth labels"):
        ev.n_signal  # noqa: B018 - never 0 for unlabelled events
    with pytest.raises(InputError, match="data have no truth labels"):
        ev.require_labels("data")
    assert ev.select([0, 2]).label is None and ev.weights().tolist() == [1.0, 1.0, 1.0]
    w = _ev(weight=[1.0, 0.5, 2.0])
    assert w.weight.dtype == np.float64 and w.select([2]).weight.tolist() == [2.0]
    joined = Events.concatenate(w, _ev())  # weights default to 1 where absent
    assert joined.weight.tolist() == [1.0, 0.5, 2.0, 1.0, 1.0, 1.0]
    with pytest.raises(InputError, match="labelled and unlabelled"):
        Events.concatenate(_ev(), _ev(label=None))


@pytest.mark.parametrize(("label", "match"), [
    (np.array([0, 256, 1], dtype=np.uint16), r"found values \[256\]"),  # would wrap to 0 in int8
    (np.array([0.0, 0.5, 1.0]), r"found values \[0.5\]"),
    (np.array([0.0, np.nan, 1.0]), "found values"),
    (np.array([-1, 0, 1]), r"found values \[-1\]"),
    (np.array(["0", "1", "0"]), "numeric"),
    (np.array([0, 1]), "shape"),
])
def test_labels_checked_before_cast(label, match):
    with pytest.raises(InputError, match=match):
        _ev(label=label)


def test_labels_accept_bools_and_floats():
    assert _ev(label=np.array([True, False, True])).label.tolist() == [1, 0, 1]
    assert _ev(label=np.array([1.0, 0.0, 1.0])).label.dtype == np.int8


@pytest.mark.parametrize(("weight", "match"), [
    ([1.0, -0.5, 1.0], "negative"),
    ([1.0, np.inf, 1.0], "NaN/inf"),
    ([1.0, 1.0], "shape"),
    (["a", "b", "c"], "numeric"),
])
def test_weights_checked(weight, match):
    with pytest.raises(InputError, match=match):
        _ev(weight=np.array(weight))


def test_arrays_checked():
    with pytest.raises(InputError, match="shape"):
        Events(np.array([1.0, 2.0]), np.zeros((3, 2)), ("a", "b"))
    with pytest.raises(InputError, match="NaN/inf"):
        Events(np.array([np.nan]), np.zeros((1, 2)), ("a", "b"))
    with pytest.raises(InputError, match="feature"):
        Events(np.array([1.0]), np.array([[0.0, np.inf]]), ("a", "b"))
    with pytest.raises(InputError, match="2 columns but 1"):
        Events(np.array([1.0]), np.zeros((1, 2)), ("a",))
    with pytest.raises(InputError, match="duplicates"):
        Events(np.array([1.0]), np.zeros((1, 2)), ("a", "a"))
    with pytest.raises(InputError, match="not one string"):
        Events(np.array([1.0]), np.zeros((1, 2)), "ab")


def test_events_pickle():
    ev = _ev(weight=np.ones(3))
    back = pickle.loads(pickle.dumps(ev))
    assert back.label.tolist() == ev.label.tolist() and back.feature_names == ev.feature_names


# ---------------------------------------------------------------- events files
@pytest.mark.parametrize("label", [(0, 1, 0), None])
@pytest.mark.parametrize("weight", [None, [1.0, 0.25, 3.0]])
def test_round_trip(tmp_path, label, weight):
    ev = _ev(label=label, weight=None if weight is None else np.array(weight))
    path = write_events(tmp_path / "ev.npz", ev)
    assert path == tmp_path / "ev.npz" and sorted(p.name for p in tmp_path.iterdir()) == ["ev.npz"]
    with np.load(path) as z:
        stored = set(z.files)
    assert ("label" in stored) == (label is not None) and ("weight" in stored) == (weight
                                                                                  is not None)
    back = read_events(path)
    np.testing.assert_array_equal(back.m, ev.m)
    np.testing.assert_array_equal(back.x, ev.x)
    assert back.feature_names == ev.feature_names
    if label is None:
        assert back.label is None  # no invented all-zero labels
    else:
        assert back.label.tolist() == list(label)
    assert (back.weight is None) == (weight is None)


def test_write_refuses_other_suffix_and_is_atomic(tmp_path, monkeypatch):
    with pytest.raises(InputError, match=r"must end in \.npz"):
        write_events(tmp_path / "g6.txt", _ev())
    assert not list(tmp_path.iterdir())  # neither g6.txt nor g6.txt.npz
    path = write_events(tmp_path / "ev.npz", _ev())
    before = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_events(path, _ev(label=None))
    assert path.read_bytes() == before  # the old file is intact, no temporary file is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev.npz"]


def test_read_errors_name_file_and_field(tmp_path):
    good = {"m": np.array([3.0, 3.5]), "x": np.zeros((2, 1)),
            "feature_names": np.array(["a"])}
    cases = [
        ({"x": good["x"]}, "missing field 'm'"),
        ({**good, "m": np.array([3.0, np.nan])}, "field 'm' has 1 non-finite"),
        ({**good, "m": np.array(["3", "4"])}, "field 'm' must be numeric"),
        ({**good, "label": np.array([0, 256], dtype=np.uint16)}, r"field 'label'.*\[256\]"),
        ({**good, "label": np.array([0.0, 0.5])}, r"field 'label'.*\[0.5\]"),
        ({**good, "weight": np.array([1.0, -1.0])}, "field 'weight'.*negative"),
        ({**good, "feature_names": np.array(["a", "b"])}, "2 feature_names for 1"),
        ({**good, "feature_names": np.array([1.0])}, "strings"),
        ({**good, "x": np.zeros((3, 1))}, "expected"),
    ]
    for i, (arrays, match) in enumerate(cases):
        path = tmp_path / f"bad{i}.npz"
        np.savez(path, **arrays)
        with pytest.raises(ScoreFileError, match=match) as err:
            read_events(path)
        assert f"bad{i}.npz" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ScoreFileError, match="does not exist"):
        read_events(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ScoreFileError, match="cannot be read as NPZ"):
        read_events(tmp_path / "junk.npz")
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(ScoreFileError, match="one array"):
        read_events(tmp_path / "one.npy")


def test_pickled_member_is_refused(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, m=np.array([3.0, 3.5]), x=np.zeros((2, 1)),
             label=np.array([0, {"evil": 1}], dtype=object))
    with pytest.raises(ScoreFileError, match="field 'label' holds Python objects"):
        read_events(path)


# ---------------------------------------------------------------- metrics say "no labels"
def test_unlabelled_events_give_no_labels_not_no_signal(tmp_path):
    gen = SyntheticLHCO()
    data = gen.sample(n_background=20_000, n_signal=50, seed=1)
    unlabelled = Events(data.m, data.x, data.feature_names)  # like real data
    write_events(tmp_path / "data.npz", unlabelled)
    back = read_events(tmp_path / "data.npz")
    assert back.label is None
    sf = ExactProducer(gen).produce(back, [Window(3.3, 3.7, "SR5")],
                                    reference=gen.sample_background(20_000, seed=2),
                                    progress=False)
    assert sf["SR5"].data.label is None and sf.metadata["labels"] is False
    with pytest.raises(InputError, match="no truth labels") as err:
        score_file_metrics(sf)
    assert "no signal" not in str(err.value)
    path = write_scores(tmp_path / "s.h5", sf)
    res = CliRunner().invoke(main, ["metrics", str(path), "--json"])
    assert res.exit_code == 2
    assert "no truth labels" in res.output and "s.h5" in res.output
    # the labelled file: metrics work, and a window without signal says "no signal events"
    sf_lab = ExactProducer(gen).produce(data, [Window(3.3, 3.7, "SR5"), Window(6.0, 6.5, "far")],
                                        reference=gen.sample_background(20_000, seed=2),
                                        progress=False)
    rep = json.loads(score_file_metrics(sf_lab).to_json())
    assert rep["windows"][0]["has_signal"] and not rep["windows"][1]["has_signal"]
