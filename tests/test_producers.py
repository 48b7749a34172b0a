"""The score-producer interface: every registered producer makes a valid score file on a small
synthetic sample, seeds are explicit (same seed, same scores; another seed, other scores), every
data event is scored out of fold (fold ids recorded), producers pickle, and the registry and
the window-spec parser behave."""

import dataclasses
import pickle

import numpy as np
import pytest

from bumpstat.classifiers import BDTConfig
from bumpstat.data import SyntheticLHCO
from bumpstat.events import Events
from bumpstat.exceptions import InputError, WindowError
from bumpstat.producers import (
    PRODUCERS,
    CWoLaProducer,
    ExactProducer,
    IADProducer,
    RanodeProducer,
    ScoreProducer,
    get_producer,
    parse_mass_range,
    parse_window_spec,
)
from bumpstat.scores import ScoreFile
from bumpstat.windows import Window

SR5 = Window(3.3, 3.7, "SR5")
TINY = BDTConfig(n_models=1, n_threads=1)
#: The producers of the first wave; the flow/BDT/AE producers of issue 12 have the same checks
#: in test_producers_flows.py with their own (test-preset) fixtures.
CORE = ("cwola", "exact", "iad", "ranode")


@pytest.fixture(scope="module")
def gen():
    return SyntheticLHCO()


@pytest.fixture(scope="module")
def samples(gen):
    return (gen.sample(n_background=30_000, n_signal=150, seed=1),
            gen.sample_background(30_000, seed=2))


def _producer(name, gen):
    if name == "exact":
        return get_producer("exact", generator=gen)
    if name in ("iad", "cwola"):
        return get_producer(name, config=TINY)
    pytest.importorskip("torch")
    pytest.importorskip("nflows")
    return get_producer(name, preset="test")


def _produce(producer, samples, seed, runs=1):
    data, ref = samples
    return producer.produce(data, [SR5], runs=runs, seed=seed,
                            reference=ref if producer.needs_reference else None, progress=False)


@pytest.fixture(scope="module")
def produced(gen, samples):
    """Per producer: (producer, file with seed 3, again with seed 3, with seed 4)."""
    out = {}
    for name in CORE:
        p = _producer(name, gen)
        out[name] = (p, _produce(p, samples, 3, runs=2), _produce(p, samples, 3, runs=2),
                     _produce(p, samples, 4, runs=2))
    return out


def test_registry_is_explicit():
    assert set(PRODUCERS) == {"exact", "iad", "cwola", "ranode", "cathode", "lacathode",
                              "anode", "salad", "ae"}
    for name, cls in PRODUCERS.items():
        assert issubclass(cls, ScoreProducer) and cls.name == name
        assert dataclasses.is_dataclass(cls)


@pytest.mark.parametrize("name", CORE)
def test_valid_score_file(produced, samples, name):
    producer, sf, _, _ = produced[name]
    data, ref = samples
    assert isinstance(sf, ScoreFile) and sf.method == name and sf.n_runs == 2
    ws = sf["SR5"]
    sr = SR5.contains(data.m)
    in_sr = SR5.contains(ws.data.m)
    assert in_sr.sum() == sr.sum()  # every SR data event is scored
    assert np.array_equal(ws.data.event_id[in_sr], np.flatnonzero(sr))
    assert np.array_equal(ws.data.label, data.label[ws.data.event_id])
    assert np.all(np.isfinite(ws.data.scores)) and np.all(np.isfinite(ws.template.scores))
    meta = sf.metadata
    assert meta["producer"] == name and meta["seed"] == 3 and meta["runs"] == 2
    assert meta["options"] == producer.options() and "SR5" in meta["windows"]
    if name == "ranode":
        assert np.allclose(ws.template.weight, 0.25) and ws.template.n_events == 4 * sr.sum()


@pytest.mark.parametrize("name", CORE)
def test_seeds_are_explicit(produced, name):
    producer, a, b, c = produced[name]
    assert np.array_equal(a["SR5"].data.scores, b["SR5"].data.scores)
    assert np.array_equal(a["SR5"].template.scores, b["SR5"].template.scores)
    if producer.trains:
        assert not np.array_equal(a["SR5"].data.scores, c["SR5"].data.scores)
        assert not np.array_equal(a["SR5"].data.scores[0], a["SR5"].data.scores[1])  # runs
    else:  # the exact ratio trains nothing: every seed and run gives the same scores
        assert np.array_equal(a["SR5"].data.scores, c["SR5"].data.scores)


@pytest.mark.parametrize("name", CORE)
def test_every_data_event_scored_out_of_fold(produced, name):
    producer, sf, _, _ = produced[name]
    ws = sf["SR5"]
    if not producer.trains:
        assert ws.data.fold is None
        return
    in_sr = SR5.contains(ws.data.m)
    folds = ws.data.fold[in_sr]
    k = producer.config.n_folds
    assert folds.min() == 0 and folds.max() == k - 1
    counts = np.bincount(folds, minlength=k)
    assert counts.max() - counts.min() <= 1  # balanced k-fold
    assert ws.template.fold is not None and set(np.unique(ws.template.fold)) == set(range(k))


def test_ranode_flows_never_score_their_training_events(monkeypatch, samples):
    pytest.importorskip("torch")
    pytest.importorskip("nflows")
    import bumpstat.producers.ranode as pr

    trained_on, fit_signal = [], pr.fit_signal

    def spy(m_sr, x_sr, *args, **kwargs):
        trained_on.append(set(np.asarray(m_sr).tolist()))
        return fit_signal(m_sr, x_sr, *args, **kwargs)

    monkeypatch.setattr(pr, "fit_signal", spy)
    sf = RanodeProducer("test").produce(samples[0], [SR5], runs=1, seed=5, progress=False)
    ws = sf["SR5"]
    assert len(trained_on) == 3  # one signal flow per fold
    for f, seen in enumerate(trained_on):
        scored = set(ws.data.m[ws.data.fold == f].tolist())
        assert scored and not scored & seen
        assert len(seen) + len(scored) == ws.data.n_events


@pytest.mark.parametrize("name", sorted(PRODUCERS))
def test_producers_pickle(gen, name):
    producer = _producer(name, gen)
    back = pickle.loads(pickle.dumps(producer))
    assert type(back) is type(producer) and back.options() == producer.options()


def test_pickled_producer_gives_the_same_scores(gen, samples):
    p = CWoLaProducer(TINY, sideband_width=0.15)
    a = _produce(p, samples, 7)
    b = _produce(pickle.loads(pickle.dumps(p)), samples, 7)
    assert np.array_equal(a["SR5"].data.scores, b["SR5"].data.scores)


def test_get_producer_options():
    p = get_producer("iad", preset="fast", n_folds=3, features=["mj1", "tau21_j1"])
    assert isinstance(p, IADProducer) and p.config.n_models == 2 and p.config.n_folds == 3
    assert p.features == ("mj1", "tau21_j1")
    assert get_producer("cwola", sideband_width=0.1).sideband_width == 0.1
    r = get_producer("ranode", preset="test", n_folds=4, oversample=2.0)
    assert r.config.n_folds == 4 and r.oversample == 2.0
    with pytest.raises(InputError, match="unknown producer"):
        get_producer("nope")
    with pytest.raises(InputError, match=r"unknown option\(s\) \['n_trees'\]"):
        get_producer("iad", n_trees=3)
    with pytest.raises(InputError, match="preset"):
        get_producer("iad", preset="huge")
    with pytest.raises(InputError, match="no presets"):
        get_producer("exact", preset="fast")
    with pytest.raises(InputError, match="generator"):
        ExactProducer()
    with pytest.raises(InputError, match="either preset or config"):
        get_producer("iad", preset="fast", config=TINY)


def test_produce_checks_its_inputs(gen, samples):
    data, ref = samples
    with pytest.raises(InputError, match="needs reference"):
        IADProducer(TINY).produce(data, [SR5], progress=False)
    with pytest.raises(InputError, match="takes no reference"):
        CWoLaProducer(TINY).produce(data, [SR5], reference=ref, progress=False)
    with pytest.raises(InputError, match="runs"):
        ExactProducer(gen).produce(data, [SR5], reference=ref, runs=0, progress=False)
    with pytest.raises(InputError, match="seed"):
        ExactProducer(gen).produce(data, [SR5], reference=ref, seed=-1, progress=False)
    with pytest.raises(WindowError, match="non-empty"):
        ExactProducer(gen).produce(data, [], reference=ref, progress=False)
    with pytest.raises(InputError, match="score_range"):
        RanodeProducer("test").produce(data, [SR5], score_range=(3.0, 4.0), progress=False)
    other = Events(ref.m, ref.x[:, :3], ref.feature_names[:3])
    with pytest.raises(InputError, match="reference features"):
        IADProducer(TINY).produce(data, [SR5], reference=other, progress=False)


def test_unlabelled_and_weighted_events_are_carried(gen, samples):
    data, ref = samples
    unl = Events(data.m, data.x, data.feature_names, weight=np.full(len(data), 2.0))
    sf = ExactProducer(gen).produce(unl, [SR5], reference=ref, score_range=(3.0, 4.0),
                                    progress=False)
    ws = sf["SR5"]
    assert ws.data.label is None and np.all(ws.data.weight == 2.0)
    assert ws.data.n_events == ((data.m >= 3.0) & (data.m < 4.0)).sum()


def test_parse_window_spec_and_range():
    assert [w.name for w in parse_window_spec("sliding")] == [f"SR{n}" for n in range(1, 10)]
    ws = parse_window_spec("3.4, 3.6", width=0.2)
    assert [(w.low, w.high) for w in ws] == [(3.3, 3.5), (3.5, 3.7)]
    assert parse_window_spec("sliding", width=0.3)[4].width == 0.3
    with pytest.raises(InputError, match="sliding"):
        parse_window_spec("3.5,x")
    with pytest.raises(WindowError):
        parse_window_spec(",")
    assert parse_mass_range("3,4") == (3.0, 4.0)
    for bad in ("4,3", "3", "a,b", "3,inf"):
        with pytest.raises(InputError):
            parse_mass_range(bad)
