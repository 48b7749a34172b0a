"""Command-line interface: ``bumpstat <command>``.

A thin layer over the Python API. Each command lives in its own module and is imported only
when it is invoked, so ``bumpstat significance`` never pays for torch or scikit-learn.
"""

from __future__ import annotations

import importlib

import click

__all__ = ["main"]

#: command name -> "module:attribute" of a click command.
COMMANDS: dict[str, str] = {
    "demo": "bumpstat.cli.demo:demo",
    "generate": "bumpstat.cli.generate:generate",
    "scan": "bumpstat.cli.scan:scan",
    "delta-sys": "bumpstat.cli.scan:delta_sys",
    "significance": "bumpstat.cli.significance:significance",
    "fit": "bumpstat.cli.fit:fit",
    "ranode": "bumpstat.cli.ranode:ranode",
    "train-scores": "bumpstat.cli.scores:train_scores",
    "metrics": "bumpstat.cli.scores:metrics",
    "convert": "bumpstat.cli.convert:convert",
    "study": "bumpstat.cli.study:study",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        cmd = getattr(importlib.import_module(module), attr)
        if cmd.short_help is None and cmd.help:
            # the whole first paragraph: click's default cuts at the first "." ("et al.", "eq.")
            cmd.short_help = " ".join(cmd.help.strip().split("\n\n")[0].split())
        return cmd


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bumpstat")
def main() -> None:
    """bumpstat: p-values, significances, limits and fits for resonant anomaly detection."""
