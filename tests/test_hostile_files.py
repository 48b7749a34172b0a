"""Hostile score, events and array files: each ends in one ScoreFileError naming the file.

One regression test per case of issue 9 (security, silent wrong results, tracebacks).
"""

import io
import json
import re
import shutil
import zipfile

import h5py
import numpy as np
import pytest

from bumpstat.data.files import read_events, write_events
from bumpstat.events import Events
from bumpstat.exceptions import BumpstatError, ScoreFileError, WindowError
from bumpstat.npzfile import read_npy, read_npz
from bumpstat.scores import EventSet, ScoreFile, WindowScores
from bumpstat.scores.io import read_scores, write_scores
from bumpstat.windows import Window

from helpers import toy_score_file

N = 200


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    sf = toy_score_file(n_data=N, n_template=N, n_runs=2)
    write_scores(d / "s.h5", sf)
    write_scores(d / "s.npz", sf)
    return d


# --------------------------------------------------------------------------- window names
BAD_NAMES = ["/abs/x", "../../y", ".", "..", "a\x00b", "a/b", "-rf", "x" * 65, "a b"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_unsafe_window_name_refused_at_construction(name):
    with pytest.raises(WindowError, match="window name"):
        Window(3.3, 3.7, name)


def test_window_name_must_be_a_string():
    with pytest.raises(WindowError, match="must be a string"):
        Window(3.3, 3.7, 5)  # type: ignore[arg-type]


def _npz_with(src, dst, *, header=None, arrays=None):
    with np.load(src) as z:
        a = {k: z[k] for k in z.files}
    h = json.loads(str(a["__schema__"]))
    if header:
        header(h, a)
    if arrays:
        arrays(a)
    a["__schema__"] = np.array(json.dumps(h))
    np.savez(dst, **a)
    return dst


def _rename(new):
    def f(h, a):
        old = h["windows"][0]["name"]
        h["windows"][0]["name"] = new
        for k in list(a):
            if k.startswith(old + "/"):
                a[new + k[len(old):]] = a.pop(k)
    return f


@pytest.mark.parametrize("name", ["/abs/x", "../../y", ".", "-x"])
def test_unsafe_window_name_refused_at_read_npz(good, tmp_path, name):
    path = _npz_with(good / "s.npz", tmp_path / "h.npz", header=_rename(name))
    with pytest.raises(ScoreFileError, match="h.npz.*window name .* is not allowed"):
        read_scores(path)


def test_unsafe_window_name_refused_at_read_hdf5(good, tmp_path):
    path = tmp_path / "h.h5"
    shutil.copy(good / "s.h5", path)
    with h5py.File(path, "a") as f:
        f.move("windows/SR1", "windows/..x")
    with pytest.raises(ScoreFileError, match="h.h5.*window name '..x' is not allowed"):
        read_scores(path)


# --------------------------------------------------------------------------- HDF5 structure
def _h5(good, tmp_path, mutate):
    path = tmp_path / "h.h5"
    shutil.copy(good / "s.h5", path)
    with h5py.File(path, "a") as f:
        mutate(f)
    return path


def _replace(path, value):
    def f(h):
        del h[path]
        h[path] = value
    return f


def _link(kind):
    def f(h):
        del h["windows/SR1/data"]
        target = "/windows/SR2/data"
        h["windows/SR1/data"] = (h5py.SoftLink(target) if kind == "soft"
                                 else h5py.ExternalLink(h.filename + ".other", target))
    return f


H5_CASES = {
    "external link": (_link("external"), "ExternalLink; score files may not link"),
    "soft link": (_link("soft"), "SoftLink; score files may not link"),
    "low 'abc'": (lambda f: f["windows/SR1"].attrs.__setitem__("low", "abc"),
                  "attribute 'low' must be a finite number, found 'abc'"),
    "index 'first'": (lambda f: f["windows/SR1"].attrs.__setitem__("index", "first"),
                      "attribute 'index' must be an integer"),
    "data as dataset": (_replace("windows/SR1/data", np.zeros(3)), "'data' must be a group"),
    "windows as dataset": (_replace("windows", np.zeros(3)), "'windows' must be a group"),
    "schema_version 1.7": (lambda f: f.attrs.__setitem__("schema_version", 1.7),
                           "schema_version must be an integer, found 1.7"),
    "schema_version abc": (lambda f: f.attrs.__setitem__("schema_version", "abc"),
                           "schema_version must be an integer"),
    "label 256": (_replace("windows/SR1/data/label", np.full(N, 256)), "labels must be 0"),
    "label 257": (_replace("windows/SR1/data/label", np.full(N, 257)), "labels must be 0"),
    "fold 65536": (lambda f: f["windows/SR1/data"].__setitem__("fold", np.full(N, 65536)),
                   "fold indices must lie in"),
    "fold -3": (lambda f: f["windows/SR1/data"].__setitem__("fold", np.full(N, -3)),
                "fold indices must lie in"),
    "scores strings": (_replace("windows/SR1/data/scores", np.full((2, N), b"1.0")),
                       "expected real numbers, found bytes"),
    "scores complex": (_replace("windows/SR1/data/scores", np.ones((2, N)) + 1j),
                       "found complex numbers"),
    "scores bool": (_replace("windows/SR1/data/scores", np.ones((2, N), bool)),
                    "found booleans"),
    "scores 1-D": (_replace("windows/SR1/data/scores", np.ones(N)),
                   r"expected shape \(n_runs, n_events\), got \(200,\)"),
    "m strings": (_replace("windows/SR1/data/m", np.full(N, b"3.5")), "'data/m': expected real"),
    "template m in GeV beside data in TeV": (
        lambda f: f["windows/SR1/template"].__setitem__("m", np.full(N, 3500.0)),
        "'template/m' has median 3500 TeV.*probably GeV"),
    "metadata not an object": (lambda f: f.attrs.__setitem__("metadata", "[1]"),
                               "metadata must be a JSON object"),
}


@pytest.mark.parametrize("case", sorted(H5_CASES))
def test_hostile_hdf5(good, tmp_path, case):
    mutate, match = H5_CASES[case]
    with pytest.raises(ScoreFileError, match=match):
        read_scores(_h5(good, tmp_path, mutate))


def test_hdf5_external_storage_refused(good, tmp_path):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.zeros(2 * N).tobytes())

    def mutate(f):
        del f["windows/SR1/data/scores"]
        f["windows/SR1/data"].create_dataset("scores", shape=(2, N), dtype="f8",
                                             external=[(str(raw), 0, 16 * N)])
    with pytest.raises(ScoreFileError, match="external or virtual storage"):
        read_scores(_h5(good, tmp_path, mutate))


def test_corrupt_hdf5_content(good, tmp_path):
    b = bytearray((good / "s.h5").read_bytes())
    for i in range(len(b) // 2, len(b) // 2 + 2000):
        b[i] ^= 0x55
    path = tmp_path / "c.h5"
    path.write_bytes(bytes(b))
    with pytest.raises(ScoreFileError, match="c.h5"):
        read_scores(path)


# --------------------------------------------------------------------------- NPZ header
NPZ_CASES = {
    "schema_version 1.7": (lambda h, a: h.__setitem__("schema_version", 1.7),
                           "schema_version must be an integer, found 1.7"),
    "schema_version abc": (lambda h, a: h.__setitem__("schema_version", "abc"),
                           "schema_version must be an integer"),
    "schema_version null": (lambda h, a: h.__setitem__("schema_version", None),
                            "schema_version must be an integer, found None"),
    "entry without name": (lambda h, a: h["windows"][0].pop("name"), r"lacks \['name'\]"),
    "entry without low": (lambda h, a: h["windows"][0].pop("low"), r"lacks \['low'\]"),
    "low abc": (lambda h, a: h["windows"][0].__setitem__("low", "abc"),
                "attribute 'low' must be a finite number"),
    "low true": (lambda h, a: h["windows"][0].__setitem__("low", True),
                 "attribute 'low' must be a finite number"),
    "windows not a list": (lambda h, a: h.__setitem__("windows", 5), "must be a list"),
    "window entry not an object": (lambda h, a: h.__setitem__("windows", [1]),
                                   "must be a list"),
    "fewer windows than arrays": (lambda h, a: h.__setitem__("windows", h["windows"][:1]),
                                  "belong to no window of '__schema__'"),
    "metadata a list": (lambda h, a: h.__setitem__("metadata", [1]),
                        "metadata must be a JSON object"),
    "window in GeV edges": (lambda h, a: h["windows"][0].update(low=3300, high=3700),
                            "probably in GeV"),
}


@pytest.mark.parametrize("case", sorted(NPZ_CASES))
def test_hostile_npz_header(good, tmp_path, case):
    mutate, match = NPZ_CASES[case]
    with pytest.raises(ScoreFileError, match=match):
        read_scores(_npz_with(good / "s.npz", tmp_path / "h.npz", header=mutate))


@pytest.mark.parametrize("value,match", [
    (np.arange(3), "must hold one JSON string"),
    (np.array("[1, 2]"), "must be a JSON object"),
    (np.array("{"), "not valid JSON"),
])
def test_malformed_schema_entry(tmp_path, value, match):
    np.savez(tmp_path / "r.npz", __schema__=value)
    with pytest.raises(ScoreFileError, match=match):
        read_scores(tmp_path / "r.npz")


def test_extra_array_is_an_error_not_dropped(good, tmp_path):
    path = _npz_with(good / "s.npz", tmp_path / "h.npz",
                     arrays=lambda a: a.__setitem__("stray", np.zeros(3)))
    with pytest.raises(ScoreFileError, match=r"\['stray'\]"):
        read_scores(path)


def test_npz_labels_checked_before_cast(good, tmp_path):
    path = _npz_with(good / "s.npz", tmp_path / "h.npz",
                     arrays=lambda a: a.__setitem__("SR1/data/label", np.full(N, 256)))
    with pytest.raises(ScoreFileError, match=r"labels must be 0 .*\[256\]"):
        read_scores(path)


def test_one_d_scores_refused_in_npz(good, tmp_path):
    path = _npz_with(good / "s.npz", tmp_path / "h.npz",
                     arrays=lambda a: a.__setitem__("SR1/template/scores", np.ones(N)))
    with pytest.raises(ScoreFileError, match="template/scores': expected shape"):
        read_scores(path)


# --------------------------------------------------------------------------- NPZ containers
def test_pickled_member_refused(good, tmp_path):
    path = _npz_with(good / "s.npz", tmp_path / "h.npz",
                     arrays=lambda a: a.__setitem__("SR1/data/m", np.array([None] * N)))
    with pytest.raises(ScoreFileError, match="pickled data"):
        read_scores(path)


def test_no_np_load_in_the_package():
    """Every .npy/.npz read goes through bumpstat.npzfile (bounded, never unpickles): no module
    of the package calls numpy.load, which would trust the archive."""
    import pathlib
    import re

    import bumpstat

    root = pathlib.Path(bumpstat.__file__).parent
    calls = [(p.name, m.group(0)) for p in root.rglob("*.py")
             for m in re.finditer(r"\b(?:np|numpy)\.load\s*\(|\bfrom numpy import load\b",
                                  p.read_text())]
    assert calls == []


@pytest.mark.parametrize("name", ["zero.npz", "zero.h5"])
def test_zero_byte_file_names_the_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(ScoreFileError, match=name):
        read_scores(tmp_path / name)


def _corrupt_member(src, dst, index):
    b = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = z.infolist()[index]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 20, min(start + info.compress_size, start + 60)):
        b[i] ^= 0xFF
    dst.write_bytes(bytes(b))
    return dst


def test_corrupt_deflate_stream_is_own_error(good, tmp_path):
    with pytest.raises(ScoreFileError, match="c.npz"):
        read_scores(_corrupt_member(good / "s.npz", tmp_path / "c.npz", 1))


def _bomb(path, declared, actual):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.zeros(declared))
    head = buf.getvalue()[:len(buf.getvalue()) - 8 * declared]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", head + b"\0" * actual)
    return path


def test_decompression_bomb_refused(tmp_path):
    # 2 floats declared, 20 MB of zeros in the stream
    with pytest.raises(ScoreFileError, match="header declares shape"):
        read_npz(_bomb(tmp_path / "b.npz", 2, 20_000_000))


def test_archive_claiming_impossible_ratio_refused(tmp_path):
    path = _bomb(tmp_path / "b.npz", 2, 0)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.infolist()[0]
    # patch the uncompressed size in the central directory to 1 GB
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24:cd + 28] = (1 << 30).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert info.file_size < 1 << 30
    with pytest.raises(ScoreFileError, match="more than deflate can expand|header declares"):
        read_npz(path)


def test_truncated_npy_is_own_error(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(100.0))
    raw = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(raw[:-10])
    with pytest.raises(ScoreFileError, match="t.npy.*data end after"):
        read_npy(tmp_path / "t.npy")
    (tmp_path / "z.npy").write_bytes(b"")
    with pytest.raises(ScoreFileError, match="z.npy"):
        read_npy(tmp_path / "z.npy")


# --------------------------------------------------------------------------- events files
def _events_file(path, **arrays):
    np.savez(path, **arrays)
    return path


EVENT_CASES = {
    "string m": (dict(m=np.full(10, "3.5"), x=np.zeros((10, 2))), "field 'm' must be numeric"),
    "string x": (dict(m=np.full(10, 3.5), x=np.full((10, 2), "a")), "field 'x' must be numeric"),
    "label 256": (dict(m=np.full(10, 3.5), x=np.zeros((10, 2)), label=np.full(10, 256)),
                  "must be 0 .background. or 1"),
    "m in GeV": (dict(m=np.full(10, 3500.0), x=np.zeros((10, 2))), "probably in GeV"),
}


@pytest.mark.parametrize("case", sorted(EVENT_CASES))
def test_hostile_events_file(tmp_path, case):
    arrays, match = EVENT_CASES[case]
    with pytest.raises(ScoreFileError, match=match):
        read_events(_events_file(tmp_path / "ev.npz", **arrays))


def test_events_corrupt_stream_and_zero_bytes(tmp_path):
    write_events(tmp_path / "ev.npz", Events(np.full(1000, 3.5), np.zeros((1000, 2)), ("a", "b")))
    with pytest.raises(ScoreFileError, match="c.npz"):
        read_events(_corrupt_member(tmp_path / "ev.npz", tmp_path / "c.npz", 0))
    (tmp_path / "z.npz").write_bytes(b"")
    with pytest.raises(ScoreFileError, match="z.npz"):
        read_events(tmp_path / "z.npz")


# --------------------------------------------------------------------------- units, writing
def test_window_in_gev_says_which_unit():
    with pytest.raises(WindowError, match=r"probably in GeV.*Window\(3.3, 3.7\)"):
        Window(3300, 3700)


def test_write_scores_is_atomic(tmp_path, monkeypatch):
    """A failing write leaves the previous file intact and no temporary file behind."""
    sf = toy_score_file(n_data=N, n_template=N, n_runs=1)
    path = write_scores(tmp_path / "s.npz", sf)
    before = path.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(KeyboardInterrupt):
        write_scores(path, sf)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]


def test_all_reader_errors_are_bumpstat_errors(good):
    assert issubclass(ScoreFileError, BumpstatError)
    ws = WindowScores(Window(3.3, 3.7, "SR"), EventSet(np.zeros((1, 3)), m=np.full(3, 3.5)),
                      EventSet(np.zeros((1, 3))))
    assert ScoreFile((ws,)).window_names == ("SR",)


# --------------------------------------------------------------------------- HDF5 bounds
def test_hdf5_virtual_dataset_refused(good, tmp_path):
    def mutate(f):
        layout = h5py.VirtualLayout(shape=(2, N), dtype="f8")
        layout[:] = h5py.VirtualSource(str(good / "s.h5"), "windows/SR2/data/scores",
                                       shape=(2, N))
        del f["windows/SR1/data/scores"]
        f["windows/SR1/data"].create_virtual_dataset("scores", layout)
    with pytest.raises(ScoreFileError, match="external or virtual storage"):
        read_scores(_h5(good, tmp_path, mutate))


def test_hdf5_dataset_declaring_more_than_it_stores_refused(good, tmp_path):
    """The HDF5 twin of a decompression bomb: 1.6 TB declared, no chunk written."""
    def mutate(f):
        del f["windows/SR1/data/scores"]
        f["windows/SR1/data"].create_dataset("scores", (2, 10**11), "f8", chunks=(1, 2**20),
                                             compression="gzip")
    with pytest.raises(ScoreFileError, match=r"declares shape \(2, 100000000000\).*stores 0"):
        read_scores(_h5(good, tmp_path, mutate))


def test_highly_compressible_file_still_reads(tmp_path):
    """Constant columns compress about 200:1 with the writer's gzip: far from the bound."""
    n = 1_000_000
    ws = WindowScores(Window(3.3, 3.7, "SR"),
                      EventSet(np.zeros((1, n)), m=np.full(n, 3.5), label=np.zeros(n)),
                      EventSet(np.zeros((1, n))))
    sf = read_scores(write_scores(tmp_path / "c.h5", ScoreFile((ws,))))
    assert sf.windows[0].data.scores.shape == (1, n)


# --------------------------------------------------------------------------- fit inputs
@pytest.mark.parametrize("m,match", [
    (np.full((100, 2), 3.5), "1-D array"),
    (np.ones(100, bool), "real numbers"),
    (np.full(100, "3.5"), "real numbers"),
    (np.full(100, 3500.0), "probably in GeV"),
    (np.full(100, 9.0), "no event lies in the fit range"),
])
def test_bumphunt_checks_masses_before_any_cast(m, match):
    from bumpstat.fit import bumphunt

    with pytest.raises(BumpstatError, match=match):
        bumphunt(m, window=(3.3, 3.7))


@pytest.mark.parametrize("kw,match", [
    (dict(window=(3300, 3700)), r"signal region \(3300, 3700\) TeV.*probably in GeV.*\(3.3, 3.7\)"),
    (dict(window=(3.3, 3.7), fit_range=(2800, 5200)), "fit range.*probably in GeV"),
    (dict(window=(3.3, 3.7), edges=[2800, 3300, 3700, 5200]), "probably in GeV"),
    (dict(window=(3.3, 3.7), edges=[5.2, 3.7, 3.3, 2.8]), "increasing"),
    (dict(window=(3.3, 3.7), edges=[2.8, float("nan"), 5.2]), "finite"),
    (dict(window=(3.3, 3.7), bins=10**20), "bins must be an integer from 1 to 10000"),
    (dict(window=(3.3, 3.7), bins=2.5), "bins must be an integer"),
])
def test_bumphunt_ranges_in_gev_or_malformed(kw, match):
    from bumpstat.fit import bumphunt

    m = 2.8 * (1 + np.random.default_rng(0).pareto(6, 2000))
    with pytest.raises(BumpstatError, match=match):
        bumphunt(m, **kw)


# --------------------------------------------------------------------------- tables, outputs
def test_convert_reads_npz_through_the_bounded_reader(good, tmp_path):
    from bumpstat.scores.convert import read_table

    path = _npz_with(good / "s.npz", tmp_path / "p.npz",
                     arrays=lambda a: a.__setitem__("SR1/data/m", np.array([None] * N)))
    with pytest.raises(ScoreFileError, match="pickled data"):
        read_table(path, columns=["SR1/data/m"])
    with pytest.raises(ScoreFileError, match="header declares shape"):
        read_table(_bomb(tmp_path / "b.npz", 2, 20_000_000))
    assert read_table(path, columns=["SR1/data/scores"])["SR1/data/scores"].shape == (2, N)


def test_convert_unreadable_csv(tmp_path):
    from bumpstat.exceptions import InputError
    from bumpstat.scores.convert import read_table

    (tmp_path / "e.csv").write_bytes(b"")
    (tmp_path / "b.csv").write_bytes(bytes(range(256)) * 4)
    for name in ("e.csv", "b.csv"):
        with pytest.raises(InputError, match=f"{name}' cannot be read as csv"):
            read_table(tmp_path / name)


def test_check_output_probes_without_leaving_anything(tmp_path):
    from bumpstat.exceptions import InputError
    from bumpstat.outputs import check_output

    (tmp_path / "f").write_text("x")
    assert check_output(tmp_path / "new" / "deeper" / "a.json") == tmp_path / "new/deeper/a.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]  # nothing created
    with pytest.raises(InputError, match="is a file, not a directory"):
        check_output(tmp_path / "f" / "a.json")
    with pytest.raises(InputError, match="is a directory"):
        check_output(tmp_path)
    with pytest.raises(InputError, match="cannot write into '/proc'"):
        check_output("/proc/bumpstat-no/a.json")


def test_output_dir_removes_earlier_files_only_when_it_writes(tmp_path):
    from bumpstat.outputs import OutputDir

    first = OutputDir(tmp_path)
    first.write_json("a.json", {"x": 1})
    first.write_text("b.txt", "b")
    first.finish()
    second = OutputDir(tmp_path)  # constructed, nothing written yet: the first run stays
    assert (tmp_path / "a.json").is_file()
    assert json.loads((tmp_path / OutputDir.MANIFEST).read_text())["complete"] is True
    second.write_text("c.txt", "c")
    assert sorted(p.name for p in tmp_path.iterdir()) == [OutputDir.MANIFEST, "c.txt"]
    assert json.loads((tmp_path / OutputDir.MANIFEST).read_text())["complete"] is False
    second.finish()


def test_atomic_path_interrupted_right_after_creating_the_temporary_file(tmp_path,
                                                                        monkeypatch):
    """A Ctrl-C landing just after the temporary file appears still removes it."""
    import os

    from bumpstat.outputs import atomic_path

    real = os.open

    def open_then_ctrl_c(*a, **k):
        real(*a, **k)
        raise KeyboardInterrupt  # the file exists, its descriptor was never returned
    monkeypatch.setattr(os, "open", open_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "x.json") as tmp:
        tmp.write_text("never")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_output_dir_refuses_a_symlink_pointing_outside(tmp_path):
    from bumpstat.exceptions import InputError
    from bumpstat.outputs import OutputDir

    (tmp_path / "victim").write_text("keep")
    out = tmp_path / "o"
    out.mkdir()
    (out / "scan.json").symlink_to(tmp_path / "victim")
    (out / "workspaces").symlink_to(tmp_path, target_is_directory=True)
    od = OutputDir(out)
    for parts in (("scan.json",), ("workspaces", "a.json")):
        with pytest.raises(InputError, match="would be outside"):
            od.file(*parts)
    assert (tmp_path / "victim").read_text() == "keep"


# --------------------------------------------------------------------------- density files
def _density_h5(path, mutate=None):
    from bumpstat.data.densities import write_density_file

    write_density_file(path, np.zeros(N), np.full(N, -1.0))
    if mutate:
        with h5py.File(path, "a") as f:
            mutate(f)
    return path


def _density_link(kind):
    def f(h):
        other = h.filename + ".other.h5"
        with h5py.File(other, "w") as o:  # a readable file elsewhere, with a fitting array
            o["x"] = np.full(N, 5.0)
        del h["log_p_sig"]
        h["log_p_sig"] = (h5py.ExternalLink(other, "/x") if kind == "external"
                          else h5py.SoftLink("/log_p_bg"))
    return f


def _density_external_storage(h):
    raw = h.filename + ".raw"
    with open(raw, "wb") as fp:
        fp.write(np.zeros(N).tobytes())
    del h["log_p_sig"]
    h.create_dataset("log_p_sig", shape=(N,), dtype="f8", external=[(raw, 0, 8 * N)])


def _density_bomb(h):
    del h["log_p_sig"]
    h.create_dataset("log_p_sig", (10**11,), "f8", chunks=(2**20,), compression="gzip")


def _density_group_link(h):
    h.create_group("real")
    h["real/log_p_sig"] = np.zeros(N)
    h["real/log_p_bg"] = np.zeros(N)
    h["sr5"] = h5py.SoftLink("/real")


DENSITY_H5 = {
    "external link": (_density_link("external"), None, "ExternalLink; density files may not"),
    "soft link": (_density_link("soft"), None, "SoftLink; density files may not link"),
    "external storage": (_density_external_storage, None, "external or virtual storage"),
    "declares more than it stores": (_density_bomb, None, r"declares shape \(100000000000,\)"),
    "group is a soft link": (_density_group_link, "sr5", "'sr5' is a SoftLink"),
    "field is a group": (lambda h: h.create_group("weights"), None, "'weights' must be a dataset"),
    "bool field": (_replace("log_p_bg", np.ones(N, bool)), None, "real numbers, got dtype bool"),
}


@pytest.mark.parametrize("case", sorted(DENSITY_H5))
def test_hostile_density_hdf5(tmp_path, case):
    from bumpstat.data.densities import read_density_file

    mutate, group, match = DENSITY_H5[case]
    path = _density_h5(tmp_path / "d.h5", mutate)
    with pytest.raises(ScoreFileError, match=f"density file '.*d.h5'.*{match}"):
        read_density_file(path, group=group)


def _density_npz(path, **arrays):
    np.savez_compressed(path, **{"log_p_sig": np.zeros(N), "log_p_bg": np.zeros(N), **arrays})
    return path


def _density_npz_bomb(path):
    """log_p_sig and log_p_bg declaring 2 floats each, 20 MB of zeros in one stream."""
    _bomb(path, 2, 20_000_000)
    with zipfile.ZipFile(path) as z:
        member = z.read("x.npy")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("log_p_sig.npy", member)
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.zeros(2))
        z.writestr("log_p_bg.npy", buf.getvalue())
    return path


def _npy_bytes(arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


DENSITY_NPZ = {
    "pickled member": (lambda p: _density_npz(p, weights=np.array([None] * N)),
                       "field 'weights' holds Python objects .pickled data."),
    "decompression bomb": (_density_npz_bomb, "field 'log_p_sig': header declares shape"),
    "corrupt deflate stream": (
        lambda p: _corrupt_member(_density_npz(p.with_name("ok.npz"),
                                               weights=np.arange(5000.0)), p, 2),
        "field 'weights': (corrupt data|not a valid .npy array)"),
    "zero bytes": (lambda p: p.write_bytes(b""), "cannot be read as NPZ"),
    "one .npy array": (lambda p: p.write_bytes(_npy_bytes(np.zeros(3))),
                       "cannot be read as NPZ"),
}


@pytest.mark.parametrize("case", sorted(DENSITY_NPZ))
def test_hostile_density_npz(tmp_path, case):
    from bumpstat.data.densities import read_density_file

    make, match = DENSITY_NPZ[case]
    path = tmp_path / "d.npz"
    make(path)
    with pytest.raises(ScoreFileError, match=f"density file '.*d.npz'.*{match}"):
        read_density_file(path)


def test_zero_byte_density_hdf5(tmp_path):
    from bumpstat.data.densities import read_density_file

    (tmp_path / "z.h5").write_bytes(b"")
    with pytest.raises(ScoreFileError, match="cannot read density file '.*z.h5'"):
        read_density_file(tmp_path / "z.h5")


@pytest.mark.parametrize("case", ["h5:external link", "h5:soft link", "h5:external storage",
                                  "npz:pickled member", "npz:decompression bomb",
                                  "npz:zero bytes"])
def test_ranode_fit_cli_refuses_hostile_density_files(tmp_path, case):
    """Through `bumpstat ranode fit`: exit status 2 and one line naming the file (the
    external-link file used to be fitted with exit status 0)."""
    from click.testing import CliRunner

    from bumpstat.cli import main

    kind, name = case.split(":")
    if kind == "h5":
        mutate, _, match = DENSITY_H5[name]
        path = _density_h5(tmp_path / "d.h5", mutate)
    else:
        make, match = DENSITY_NPZ[name]
        path = tmp_path / "d.npz"
        make(path)
    res = CliRunner().invoke(main, ["ranode", "fit", str(path)])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), res.output
    assert str(path) in lines[0] and re.search(match, lines[0]), lines[0]


# --------------------------------------------------------------------------- LHCO R&D files
def _lhco_h5(path, mutate=None):
    """A pandas-"fixed"-layout R&D file with 20 plausible events, then ``mutate``d."""
    rng = np.random.default_rng(1)
    n = 20
    rows = np.column_stack([rng.normal(0, 1000, (n, 3)), rng.uniform(50, 500, n),
                            rng.uniform(0.5, 1, n), rng.uniform(0.2, 0.5, n),
                            rng.uniform(0.1, 0.2, n), rng.normal(0, 1000, (n, 3)),
                            rng.uniform(50, 500, n), rng.uniform(0.5, 1, n),
                            rng.uniform(0.2, 0.5, n), rng.uniform(0.1, 0.2, n),
                            np.zeros(n)])
    from bumpstat.data.lhco import LHCO_COLUMNS

    with h5py.File(path, "w") as f:
        g = f.create_group("df")
        g["axis0"] = np.array([c.encode() for c in LHCO_COLUMNS])
        g["axis1"] = np.arange(n)
        g["block0_items"] = np.array([c.encode() for c in LHCO_COLUMNS])
        g["block0_values"] = rows
        if mutate:
            mutate(f)
    return path


def _lhco_link(kind):
    def f(h):
        other = h.filename + ".other.h5"
        with h5py.File(other, "w") as o:
            h.copy("df", o)
        del h["df/block0_values"]
        h["df/block0_values"] = (h5py.ExternalLink(other, "/df/block0_values")
                                 if kind == "external" else h5py.SoftLink("/df/axis1"))
    return f


def _lhco_table_link(h):
    h.move("df", "real")
    h["df"] = h5py.SoftLink("/real")


def _lhco_external_storage(h):
    rows = h["df/block0_values"][()]
    raw = h.filename + ".raw"
    with open(raw, "wb") as fp:
        fp.write(rows.tobytes())
    del h["df/block0_values"]
    h["df"].create_dataset("block0_values", shape=rows.shape, dtype="f8",
                           external=[(raw, 0, rows.nbytes)])


def _lhco_bomb(h):
    del h["df/block0_values"]
    h["df"].create_dataset("block0_values", (10**10, 15), "f8", chunks=(2**16, 15),
                           compression="gzip")


LHCO_H5 = {
    "external link": (_lhco_link("external"), "'block0_values' is a ExternalLink; LHCO files"),
    "soft link": (_lhco_link("soft"), "'block0_values' is a SoftLink; LHCO files may not"),
    "table group is a soft link": (_lhco_table_link, "'df' is a SoftLink"),
    "external storage": (_lhco_external_storage, "external or virtual storage"),
    "declares more than it stores": (_lhco_bomb, r"declares shape \(10000000000, 15\)"),
}


@pytest.mark.parametrize("case", sorted(LHCO_H5))
def test_hostile_lhco_hdf5(tmp_path, case):
    from bumpstat.data.lhco import load_lhco_rnd

    assert load_lhco_rnd(_lhco_h5(tmp_path / "ok.h5")).m.shape == (20,)
    mutate, match = LHCO_H5[case]
    with pytest.raises(ScoreFileError, match=f"'.*r.h5'.*{match}"):
        load_lhco_rnd(_lhco_h5(tmp_path / "r.h5", mutate))


def _lhco_npz(path, **change):
    from bumpstat.data.lhco import LHCO_COLUMNS

    np.savez(path, **{**{c: np.ones(20) for c in LHCO_COLUMNS}, **change})
    return path


LHCO_NPZ = {
    "pickled column": (lambda p: _lhco_npz(p, label=np.array([None] * 20)), None,
                       "field 'label' holds Python objects .pickled data."),
    "decompression bomb": (lambda p: _bomb(p, 2, 20_000_000), "x",
                           "field 'x': header declares shape"),
    "zero bytes": (lambda p: p.write_bytes(b""), None, "cannot be read as NPZ"),
    "corrupt deflate stream": (
        lambda p: _corrupt_member(_bomb(p.with_name("ok.npz"), 5000, 40_000), p, 0), "x",
        "field 'x': (corrupt data|not a valid .npy array)"),
}


@pytest.mark.parametrize("case", sorted(LHCO_NPZ))
def test_hostile_lhco_npz(tmp_path, case):
    from bumpstat.data.lhco import load_lhco_rnd

    make, key, match = LHCO_NPZ[case]
    path = tmp_path / "r.npz"
    make(path)
    with pytest.raises(ScoreFileError, match=f"LHCO file '.*r.npz'.*{match}"):
        load_lhco_rnd(path, key=key)


def test_zero_byte_lhco_hdf5(tmp_path):
    from bumpstat.data.lhco import load_lhco_rnd

    (tmp_path / "z.h5").write_bytes(b"")
    with pytest.raises(ScoreFileError, match="cannot read '.*z.h5' as HDF5"):
        load_lhco_rnd(tmp_path / "z.h5")


def test_npy_header_that_does_not_tokenize(tmp_path):
    """A header with an unclosed bracket: numpy's tokenizer raised tokenize.TokenError, which
    escaped the reader (found by the fuzz test)."""
    import io

    from bumpstat.npzfile import read_npy

    buf = io.BytesIO()
    np.save(buf, np.arange(5.0))
    path = tmp_path / "m.npy"
    path.write_bytes(buf.getvalue().replace(b"(5,)", b"(5, ", 1))
    with pytest.raises(ScoreFileError, match=r"m file .*m\.npy.*not a valid \.npy array"):
        read_npy(path, what="m file")
