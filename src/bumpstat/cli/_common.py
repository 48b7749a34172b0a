"""What every command shares: option meanings, JSON output, error reporting.

Conventions (one meaning per option, across all commands):

``--out DIR``
    Output directory, for commands that write several files (through
    :class:`bumpstat.outputs.OutputDir`: confined, atomic, with a manifest).
``-o/--output FILE``
    The one output file of a command that writes one file (atomic; never over an input).
``--json``
    Print the JSON result to stdout (strict JSON, nothing else on stdout).
``--quiet``
    No progress bars and no informational messages.
``--seed N``
    Integer >= 0 seeding every random step.
``--workers N`` / ``--scheduler ADDRESS``
    Local worker processes (>= 1) / a Dask scheduler to run tasks on.

Every error a command can foresee ends in one line ``Error: <what> …`` on stderr and exit
status :data:`EXIT_ERROR` (2), the same as click's usage errors. An interrupted command
(SIGINT / SIGTERM) exits with 130 / 143 and leaves no partial output.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from bumpstat.exceptions import BumpstatError
from bumpstat.serialize import dumps

__all__ = [
    "EXIT_ERROR",
    "MultiValueOption",
    "check_outputs",
    "command_errors",
    "emit_json",
    "info",
    "json_option",
    "output_option",
    "out_dir_option",
    "quiet_option",
    "seed_option",
    "write_output_json",
]

#: Exit status of every failed command (bad input, bad option, unreadable file).
EXIT_ERROR = 2


class _Error(click.ClickException):
    exit_code = EXIT_ERROR


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` (temporary files) runs."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """While a command runs, SIGTERM unwinds the stack like SIGINT (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _release_interrupted(err: BaseException) -> None:
    """Free the frames an interruption unwound, quietly.

    A signal can land inside a library's constructor (e.g. ``zipfile.ZipFile`` while
    ``numpy.savez`` writes a temporary file) and leave an object whose ``__del__`` fails; kept
    alive by the traceback, it would print an "Exception ignored ... Traceback" when collected
    at exit. Its temporary file is already gone (:func:`bumpstat.outputs.atomic_path`).
    """
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        traceback.clear_frames(err.__traceback__)
        err.__traceback__ = None
        gc.collect()
    finally:
        sys.unraisablehook = hook


def command_errors(f: Callable) -> Callable:
    """Turn a :class:`BumpstatError` into one line ``Error: …`` and exit status 2.

    SIGINT (Ctrl-C) and SIGTERM end the command with exit status 130 / 143 after every
    temporary file has been removed; no output is left half-written, and a file being replaced
    keeps its previous content (:func:`bumpstat.outputs.atomic_path`).
    """

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            with _sigterm_as_interrupt():
                return f(*args, **kwargs)
        except BumpstatError as err:
            msg = " ".join(str(err).split())  # one line
            raise _Error(msg) from err
        except KeyboardInterrupt as err:
            what = "terminated" if isinstance(err, _Terminated) else "interrupted"
            _release_interrupted(err)
            click.echo(f"Error: {what}; no partial result was left in place", err=True)
            raise SystemExit(143 if isinstance(err, _Terminated) else 130) from None

    return wrapper


def emit_json(obj: Any) -> None:
    """Print ``obj`` to stdout as strict JSON."""
    click.echo(dumps(obj))


def info(message: str, *, quiet: bool = False) -> None:
    """An informational message on stderr (suppressed by ``--quiet``)."""
    if not quiet:
        click.echo(message, err=True)


def write_output_json(path: str | Path, obj: Any, *, inputs: Iterable[Any] = ()) -> Path:
    """Write ``obj`` as strict JSON to ``path`` atomically, refusing to overwrite an input."""
    from bumpstat.outputs import check_not_input, write_json

    check_not_input(path, [i for i in inputs if i is not None], option="--output")
    return write_json(path, obj)


def check_outputs(inputs: Iterable[Any], *, output: Path | None = None,
                  plot: Path | None = None) -> None:
    """Before any work: ``-o/--output`` and ``--plot`` are writable, not inputs, not each other,
    and ``--plot`` has an image suffix matplotlib knows."""
    from bumpstat.exceptions import InputError
    from bumpstat.outputs import check_not_input, check_output

    ins = [i for i in inputs if i is not None]
    if output is not None:
        check_not_input(output, ins, option="--output")
        check_output(output, "--output")
    if plot is not None:
        check_not_input(plot, ins, option="--plot")
        if output is not None and Path(plot).resolve() == Path(output).resolve():
            raise InputError(f"--plot and --output name the same file {str(plot)!r}")
        from matplotlib.figure import Figure

        formats = sorted(Figure().canvas.get_supported_filetypes())
        if plot.suffix.lstrip(".").lower() not in formats:
            raise InputError(f"--plot {str(plot)!r}: unknown image format "
                             f"{plot.suffix or '(none)'!r}; use a suffix among "
                             f"{', '.join('.' + f for f in formats)}")
        check_output(plot, "--plot")


def json_option(f: Callable) -> Callable:
    """``--json``: print the JSON result to stdout."""
    return click.option("--json", "as_json", is_flag=True,
                        help="Print the JSON result to stdout.")(f)


def quiet_option(f: Callable) -> Callable:
    """``--quiet``: no progress bars or messages."""
    return click.option("--quiet", is_flag=True, help="No progress bars or messages.")(f)


def seed_option(default: int = 0) -> Callable[[Callable], Callable]:
    """``--seed N`` (integer >= 0)."""
    return click.option("--seed", type=click.IntRange(min=0), default=default, show_default=True,
                        help="Seed of every random step (integer >= 0).")


def output_option(*, required: bool = False, help: str = "Output file.",
                  extra_names: tuple[str, ...] = ()) -> Callable[[Callable], Callable]:
    """``-o/--output FILE``: the command's one output file."""
    return click.option("-o", "--output", *extra_names, "output", required=required,
                        type=click.Path(dir_okay=False, path_type=Path), help=help)


def out_dir_option(*, required: bool = True, default: str | None = None,
                   help: str = "Output directory.") -> Callable[[Callable], Callable]:
    """``--out DIR``: the directory a multi-file command writes into."""
    return click.option("--out", "out", required=required and default is None, default=default,
                        show_default=default is not None,
                        type=click.Path(file_okay=False, path_type=Path), help=help)


def _is_option_token(token: str) -> bool:
    if not token.startswith("-") or token == "-":
        return False
    try:
        float(token)
    except ValueError:
        return True
    return False


class MultiValueOption(click.Option):
    """An option taking one or more values after it: ``--n-signal 0 300 1000`` (repeatable).

    Values are read until the next option; put positional arguments before such an option.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["multiple"] = True
        super().__init__(*args, **kwargs)

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name) or parser._short_opt.get(name)
            if opt is None:  # pragma: no cover - click internals changed
                continue
            single = opt.process

            def process(value: Any, state: Any, single: Callable = single) -> None:
                single(value, state)
                while state.rargs and not _is_option_token(state.rargs[0]):
                    single(state.rargs.pop(0), state)

            opt.process = process
