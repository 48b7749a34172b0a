"""LHCO R&D loader: a small file in the pandas "fixed" HDF5 layout with hand-computable events."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest

from bumpstat.data import LHCO_COLUMNS, load_lhco_rnd
from bumpstat.exceptions import InputError, ScoreFileError


def _jet(pt, eta, phi, m, taus):
    return [pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta), m, *taus]


# (jet a, jet b, label) in GeV, as (pt, eta, phi, mass, (tau1, tau2, tau3))
_EVENTS = [
    # back to back along x, no pz: m_JJ = E_a + E_b; jet a is the heavier one
    ((1000.0, 0.0, 0.0, 500.0, (0.5, 0.2, 0.1)), (1000.0, 0.0, math.pi, 100.0, (0.4, 0.3, 0.2)), 1),
    # different rapidities, delta phi = pi - 0.5 without wrapping
    (
        (1500.0, 1.0, 0.0, 50.0, (0.3, 0.15, 0.1)),
        (1400.0, -0.5, math.pi + 0.5, 200.0, (0.6, 0.3, 0.2)),
        0,
    ),
    # phi = 3.0 and -3.0: the raw difference 6.0 wraps to 6 - 2 pi
    ((1300.0, 0.2, 3.0, 80.0, (0.2, 0.1, 0.05)), (1250.0, -0.1, -3.0, 120.0, (0.25, 0.2, 0.1)), 0),
    # lighter jet first
    (
        (1250.0, -1.2, 1.0, 30.0, (0.1, 0.09, 0.05)),
        (1200.0, 0.4, 1.0 + math.pi, 400.0, (0.5, 0.1, 0.05)),
        1,
    ),
]


def _rows():
    return np.array([_jet(*a[:4], a[4]) + _jet(*b[:4], b[4]) + [lab] for a, b, lab in _EVENTS])


def _expected():
    """Hand computation: M^2 = m_a^2 + m_b^2 + 2 (E_a E_b - pT_a pT_b cos dphi - pz_a pz_b)."""
    out = []
    for a, b, lab in _EVENTS:
        (pta, ea, pa, ma, _), (ptb, eb, pb, mb, _) = a, b
        en_a = math.sqrt((pta * math.cosh(ea)) ** 2 + ma**2)
        en_b = math.sqrt((ptb * math.cosh(eb)) ** 2 + mb**2)
        m2 = (
            ma**2
            + mb**2
            + 2
            * (
                en_a * en_b
                - pta * ptb * math.cos(pa - pb)
                - pta * math.sinh(ea) * ptb * math.sinh(eb)
            )
        )
        dphi = math.remainder(pa - pb, 2 * math.pi)
        dr = math.hypot(dphi, ea - eb)
        light, heavy = (a, b) if ma < mb else (b, a)
        out.append(
            dict(
                m=math.sqrt(m2) / 1000,
                mj1=light[3] / 1000,
                delta_mj=(heavy[3] - light[3]) / 1000,
                tau21_j1=light[4][1] / light[4][0],
                tau21_j2=heavy[4][1] / heavy[4][0],
                delta_r=dr,
                label=lab,
            )
        )
    return out


def _write_pandas_fixed(path, rows, *, columns=LHCO_COLUMNS, blocks=None, key="df"):
    """Write ``rows`` the way pandas ``to_hdf(format="fixed")`` lays out a DataFrame."""
    blocks = blocks or [list(range(len(columns)))]
    with h5py.File(path, "w") as f:
        g = f.create_group(key)
        g.attrs["pandas_type"] = "frame"
        g.attrs["pandas_version"] = "0.15.2"
        g.attrs["ndim"] = 2
        g.attrs["nblocks"] = len(blocks)
        g.create_dataset("axis0", data=np.array([c.encode() for c in columns]))
        g.create_dataset("axis1", data=np.arange(len(rows), dtype=np.int64))
        for i, cols in enumerate(blocks):
            names = np.array([columns[j].encode() for j in cols])
            g.create_dataset(f"block{i}_items", data=names)
            g.create_dataset(f"block{i}_values", data=rows[:, cols].astype(np.float64))


def _check(ev, *, with_dr):
    exp = _expected()
    np.testing.assert_allclose(ev.m, [e["m"] for e in exp], rtol=1e-12)
    names = ["mj1", "delta_mj", "tau21_j1", "tau21_j2"] + (["delta_r"] if with_dr else [])
    assert ev.feature_names == tuple(names)
    for j, name in enumerate(names):
        np.testing.assert_allclose(ev.x[:, j], [e[name] for e in exp], rtol=1e-12, atol=1e-14)
    assert ev.label.tolist() == [e["label"] for e in exp]
    assert ev.label.dtype == np.int8 and ev.m.dtype == np.float64


def test_hand_computed_reference_values():
    exp = _expected()
    # event 0: back to back, m_JJ = sqrt(1000^2 + 500^2) + sqrt(1000^2 + 100^2) GeV
    assert exp[0]["m"] == pytest.approx((math.sqrt(1.25e6) + math.sqrt(1.01e6)) / 1000)
    assert exp[0]["delta_r"] == pytest.approx(math.pi)
    assert exp[2]["delta_r"] == pytest.approx(math.hypot(6.0 - 2 * math.pi, 0.3))


@pytest.mark.parametrize("features", ["baseline", "delta_r"])
def test_pandas_fixed_layout(tmp_path, features):
    path = tmp_path / "events_anomalydetection_v2.features.h5"
    _write_pandas_fixed(path, _rows())
    ev = load_lhco_rnd(path, features=features)
    _check(ev, with_dr=features == "delta_r")


def test_several_blocks_and_other_key(tmp_path):
    path = tmp_path / "blocks.h5"
    # pandas puts columns of different dtypes in separate blocks, in any order
    _write_pandas_fixed(path, _rows(), blocks=[[14], list(range(7, 14)), list(range(7))], key="x")
    _check(load_lhco_rnd(path, features="delta_r"), with_dr=True)  # the only group
    _check(load_lhco_rnd(path, features="delta_r", key="x"), with_dr=True)


def test_plain_dataset_and_npz(tmp_path):
    rows = _rows()
    h5 = tmp_path / "plain.h5"
    with h5py.File(h5, "w") as f:
        f.create_dataset("events", data=rows)
    _check(load_lhco_rnd(h5, key="events", features="delta_r"), with_dr=True)
    npz = tmp_path / "matrix.npz"
    np.savez(npz, events=rows)
    _check(load_lhco_rnd(npz, key="events", features="delta_r"), with_dr=True)
    cols = tmp_path / "columns.npz"
    np.savez(cols, **{c: rows[:, j] for j, c in enumerate(LHCO_COLUMNS)})
    _check(load_lhco_rnd(cols, features="delta_r"), with_dr=True)


def test_file_errors(tmp_path):
    with pytest.raises(ScoreFileError, match="does not exist"):
        load_lhco_rnd(tmp_path / "nope.h5")
    txt = tmp_path / "text.h5"
    txt.write_text("not hdf5")
    with pytest.raises(ScoreFileError, match="text.h5"):
        load_lhco_rnd(txt)
    # wrong number of columns
    short = tmp_path / "short.h5"
    _write_pandas_fixed(short, _rows()[:, :14], columns=LHCO_COLUMNS[:14])
    with pytest.raises(ScoreFileError, match=r"14 columns.*label"):
        load_lhco_rnd(short)
    # a column misnamed
    renamed = tmp_path / "renamed.h5"
    _write_pandas_fixed(renamed, _rows(), columns=LHCO_COLUMNS[:3] + ("mass1",) + LHCO_COLUMNS[4:])
    with pytest.raises(ScoreFileError, match=r"lacks column\(s\) \['mj1'\].*mass1"):
        load_lhco_rnd(renamed)
    # no 'df' group and no key: the message lists what is there
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f.create_dataset("a", data=_rows())
        f.create_dataset("b", data=_rows())
    with pytest.raises(ScoreFileError, match=r"\['a', 'b'\]"):
        load_lhco_rnd(plain)
    with pytest.raises(ScoreFileError, match="no entry 'c'"):
        load_lhco_rnd(plain, key="c")
    with h5py.File(plain, "a") as f:
        f.create_dataset("narrow", data=_rows()[:, :10])
    with pytest.raises(ScoreFileError, match=r"\(4, 10\)"):
        load_lhco_rnd(plain, key="narrow")
    npz = tmp_path / "partial.npz"
    np.savez(npz, pxj1=np.zeros(3))
    with pytest.raises(ScoreFileError, match="pxj1"):
        load_lhco_rnd(npz)
    with pytest.raises(ScoreFileError, match="no array 'x'"):
        load_lhco_rnd(npz, key="x")


def test_value_errors(tmp_path):
    rows = _rows()
    rows[1, LHCO_COLUMNS.index("tau1j2")] = 0.0
    rows[3, LHCO_COLUMNS.index("tau1j2")] = 0.0
    path = tmp_path / "tau.h5"
    _write_pandas_fixed(path, rows)
    with pytest.raises(InputError, match=r"tau1j2 = 0 in 2 of 4 events"):
        load_lhco_rnd(path)
    rows = _rows()
    rows[0, LHCO_COLUMNS.index("mj1")] = np.nan
    _write_pandas_fixed(path, rows)
    with pytest.raises(InputError, match="'mj1'.*non-finite"):
        load_lhco_rnd(path)
    rows = _rows()
    rows[2, LHCO_COLUMNS.index("label")] = 2.0
    _write_pandas_fixed(path, rows)
    with pytest.raises(InputError, match="label"):
        load_lhco_rnd(path)
    with pytest.raises(InputError, match="features"):
        load_lhco_rnd(path, features="all")
