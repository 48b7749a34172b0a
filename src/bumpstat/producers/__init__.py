"""Score producers: events in, score files out, behind one interface.

Every producer is a frozen dataclass of its options deriving from
:class:`~bumpstat.producers.base.ScoreProducer`; ``producer.produce(data, windows, runs=…,
seed=…, reference=…, score_range=…)`` returns a :class:`~bumpstat.scores.schema.ScoreFile`
with every data event scored out of fold and the seeds and options in its metadata.

=============  ==========================================================  ======================
name           score                                                       template
=============  ==========================================================  ======================
``exact``      generator's exact ``log p_sig/p_bg`` (needs ``generator``)  ``reference``
``iad``        BDT ensemble, SR data vs an independent background sample   ``reference``
``cwola``      BDT ensemble, SR data vs the short sidebands                sideband data
``ranode``     R-ANODE flows ``log p_sig - log p_bg``, k-fold              CATHODE samples
``cathode``    BDT ensemble, SR data vs background-flow samples            CATHODE samples
``lacathode``  BDT ensemble in the flow's latent space (any m)             normal samples
``anode``      ANODE flows ``log p_data(x|m) - log p_bg(x|m)``, k-fold     CATHODE samples
``salad``      BDT ensemble, SR data vs SB-reweighted simulation           weighted ``reference``
``ae``         autoencoder-ensemble reconstruction error (m-agnostic)      sideband data
=============  ==========================================================  ======================

:data:`PRODUCERS` maps the names to the classes explicitly (nothing registers itself on
import, so a spawned or Dask worker finds every producer); :func:`get_producer` builds one from
a name and options. Importing this package imports neither torch nor scikit-learn.

>>> p = get_producer("iad", preset="fast", n_folds=3)
>>> p.name, p.config.n_models, p.config.n_folds
('iad', 2, 3)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bumpstat.exceptions import InputError
from bumpstat.producers._flowtools import FlowMethodConfig
from bumpstat.producers.anode import ANODEProducer
from bumpstat.producers.autoencoder import AutoencoderProducer
from bumpstat.producers.base import (
    ScoreProducer,
    parse_mass_range,
    parse_window_spec,
    select_features,
)
from bumpstat.producers.cathode import CATHODEProducer
from bumpstat.producers.cwola import CWoLaProducer
from bumpstat.producers.exact import ExactProducer, exact_score_file
from bumpstat.producers.iad import IADProducer
from bumpstat.producers.lacathode import LaCATHODEProducer
from bumpstat.producers.ranode import RanodeProducer, ranode_window_scores
from bumpstat.producers.salad import SALADProducer

__all__ = [
    "PRODUCERS",
    "ANODEProducer",
    "AutoencoderProducer",
    "CATHODEProducer",
    "CWoLaProducer",
    "ExactProducer",
    "FlowMethodConfig",
    "IADProducer",
    "LaCATHODEProducer",
    "RanodeProducer",
    "SALADProducer",
    "ScoreProducer",
    "exact_score_file",
    "get_producer",
    "parse_mass_range",
    "parse_window_spec",
    "ranode_window_scores",
    "select_features",
]

#: Producer name -> class.
PRODUCERS: dict[str, type[ScoreProducer]] = {
    "exact": ExactProducer,
    "iad": IADProducer,
    "cwola": CWoLaProducer,
    "ranode": RanodeProducer,
    "cathode": CATHODEProducer,
    "lacathode": LaCATHODEProducer,
    "anode": ANODEProducer,
    "salad": SALADProducer,
    "ae": AutoencoderProducer,
}


def get_producer(name: str, *, preset: str | None = None, **options: Any) -> ScoreProducer:
    """The producer ``name`` with ``options``.

    ``options`` are the producer's fields (``config``, ``features``, ``sideband_width``,
    ``generator`` …) or fields of its configuration (``n_models``, ``n_folds``, ``n_threads`` …
    of :class:`~bumpstat.classifiers.bdt.BDTConfig` or
    :class:`~bumpstat.flows.ranode.RanodeConfig`), applied on top of ``preset`` (a preset name
    of that configuration).
    """
    cls = PRODUCERS.get(name)
    if cls is None:
        raise InputError(f"unknown producer {name!r}; choose one of {sorted(PRODUCERS)}")
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    own = {k: v for k, v in options.items() if k in fields}
    overrides = {k: v for k, v in options.items() if k not in fields}
    if preset is not None:
        if "config" not in fields:
            raise InputError(f"producer {name!r} has no presets")
        if "config" in own:
            raise InputError("give either preset or config, not both")
        own["config"] = preset
    try:
        producer = cls(**own)
    except TypeError as err:
        raise InputError(f"producer {name!r}: {err}") from err
    if overrides:
        config = getattr(producer, "config", None)
        valid = sorted(fields | ({f.name for f in dataclasses.fields(config)}
                                 if dataclasses.is_dataclass(config) else set()))
        unknown = sorted(set(overrides) - set(valid))
        if unknown:
            raise InputError(f"unknown option(s) {unknown} for producer {name!r}; valid: {valid}")
        producer = dataclasses.replace(producer,  # type: ignore[type-var]
                                       config=dataclasses.replace(config, **overrides))
    return producer
