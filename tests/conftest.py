"""Shared test set-up: plots render off-screen."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
