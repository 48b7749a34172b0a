"""Normalising-flow density models (torch + nflows, the ``flows`` extra).

Importing this package never imports torch: torch and nflows are imported inside the functions
that train or evaluate a flow (through :func:`bumpstat._extras.require`, which names the extra
to install when they are missing).

* :mod:`bumpstat.flows.config` — :class:`FlowConfig` and its presets;
* :mod:`bumpstat.flows.flow` — building, training and evaluating one flow (best-epoch
  ensembles): :func:`fit_flow`, :class:`TrainedFlow`;
* :mod:`bumpstat.flows.preprocess` — min-max → logit → standardise with its Jacobian (numpy);
* :mod:`bumpstat.flows.background` — ``p_bg(x | m) p_bg(m)`` from the sidebands;
* :mod:`bumpstat.flows.signal` — ``p_sig(x, m)`` with the R-ANODE loss;
* :mod:`bumpstat.flows.cathode` — CATHODE templates sampled from the background flow;
* :mod:`bumpstat.flows.ranode` — the R-ANODE pipeline (:func:`run_ranode`).

The mixture likelihood these densities feed is in :mod:`bumpstat.stats.mixture` (numpy only);
R-ANODE anomaly scores with every event scored out of fold come from
:class:`bumpstat.producers.ranode.RanodeProducer`.
"""

from __future__ import annotations

from bumpstat.flows.background import BackgroundModel, fit_background
from bumpstat.flows.cathode import Template, sideband_template, sr_template
from bumpstat.flows.config import FlowConfig
from bumpstat.flows.flow import TrainedFlow, build_flow, fit_flow, set_torch_threads
from bumpstat.flows.preprocess import Preprocessor
from bumpstat.flows.ranode import RanodeConfig, RanodeResult, run_ranode
from bumpstat.flows.signal import SignalModel, fit_signal

__all__ = [
    "BackgroundModel",
    "FlowConfig",
    "Preprocessor",
    "RanodeConfig",
    "RanodeResult",
    "SignalModel",
    "Template",
    "TrainedFlow",
    "build_flow",
    "fit_background",
    "fit_flow",
    "fit_signal",
    "run_ranode",
    "set_torch_threads",
    "sideband_template",
    "sr_template",
]
