"""Methods that turn events into score files (exact likelihood ratio, IAD, CWoLa, …)."""

from bumpstat.methods.exact import exact_score_file

__all__ = ["exact_score_file"]
