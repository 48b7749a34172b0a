"""Helpers shared by the CLI commands: JSON output and error reporting."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bumpstat.exceptions import BumpstatError

__all__ = ["emit_json", "bumpstat_errors"]


def emit_json(obj: Any, *, out: str | Path | None = None, echo: bool = True) -> None:
    """Print ``obj`` as JSON and/or write it to ``out``."""
    text = json.dumps(obj, indent=2)
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n")
    if echo:
        click.echo(text)


def bumpstat_errors(f: Callable) -> Callable:
    """Turn :class:`BumpstatError` into a clean ``Error: …`` message and exit code 2."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except BumpstatError as err:
            raise click.ClickException(f"{type(err).__name__}: {err}") from err

    return wrapper
