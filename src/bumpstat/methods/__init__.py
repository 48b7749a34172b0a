"""Methods that turn events into score files (exact likelihood ratio, IAD, CWoLa, …)."""

from bumpstat.methods.cwola import cwola_score_file
from bumpstat.methods.exact import exact_score_file
from bumpstat.methods.iad import iad_score_file

__all__ = ["cwola_score_file", "exact_score_file", "iad_score_file"]
