"""R-ANODE (paper 002): the mixture-likelihood fit of the signal fraction w, and flow models.

The stats core (:mod:`bumpstat.ranode.likelihood`) needs numpy and scipy only and is exported
here. The density models (:mod:`bumpstat.ranode.flows`, :mod:`bumpstat.ranode.train`,
:mod:`bumpstat.ranode.cathode`) need the ``flows`` extra (torch + nflows) and are imported from
their modules; importing this package never imports torch.
"""

from __future__ import annotations

from bumpstat.ranode.likelihood import (
    DELTA_2NLL_68,
    DELTA_2NLL_95,
    Q_UPPER_95,
    MixtureFitResult,
    MixtureNLL,
    ProfileCurve,
    ensemble_log_density,
    fit_signal_fraction,
    profile_likelihood,
    read_density_file,
    write_density_file,
)

__all__ = [
    "DELTA_2NLL_68",
    "DELTA_2NLL_95",
    "Q_UPPER_95",
    "MixtureFitResult",
    "MixtureNLL",
    "ProfileCurve",
    "ensemble_log_density",
    "fit_signal_fraction",
    "profile_likelihood",
    "read_density_file",
    "write_density_file",
]
