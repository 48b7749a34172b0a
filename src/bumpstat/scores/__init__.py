"""Score files: the schema (``bumpstat-scores`` v1) and its HDF5/NPZ reader and writer."""

from bumpstat.scores.io import read_scores, write_scores
from bumpstat.scores.schema import SCHEMA_NAME, SCHEMA_VERSION, EventSet, ScoreFile, WindowScores

__all__ = [
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "EventSet",
    "ScoreFile",
    "WindowScores",
    "read_scores",
    "write_scores",
]
