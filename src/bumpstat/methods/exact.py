"""The supervised reference: score events with the generator's exact likelihood ratio.

``score = log p_sig(x | m) - log p_bg(x | m)``, the Neyman–Pearson optimal anomaly score of the
synthetic data (BRIEF §4). The background template is an independent background sample from the
same generator (an idealised anomaly detector), so ``delta_sys = 0`` in truth.
"""

from __future__ import annotations

from collections.abc import Sequence

from bumpstat.data import Events, SyntheticLHCO
from bumpstat.exceptions import WindowError
from bumpstat.scores.schema import EventSet, ScoreFile, WindowScores
from bumpstat.windows import Window

__all__ = ["exact_score_file"]


def exact_score_file(
    generator: SyntheticLHCO,
    data: Events,
    template: Events,
    windows: Sequence[Window],
    *,
    data_range: tuple[float, float] | None = None,
) -> ScoreFile:
    """Score ``data`` and ``template`` with the exact likelihood ratio, window by window.

    Parameters
    ----------
    generator : SyntheticLHCO
        Provides the exact densities (its ``log_likelihood_ratio``).
    data, template : Events
        Data (background + injected signal) and an independent background sample.
    windows : sequence of Window
        Signal regions; the template keeps its events inside each window.
    data_range : (float, float), optional
        Also keep data events in this m range (TeV), e.g. the fit range of a bump hunt;
        default: only the window.

    Returns
    -------
    ScoreFile
        One run (the score is deterministic), method ``"exact"``.
    """
    llr_data = generator.log_likelihood_ratio(data.x, data.m)
    llr_tmpl = generator.log_likelihood_ratio(template.x, template.m)
    out = []
    for w in windows:
        dmask = w.contains(data.m)
        if data_range is not None:
            dmask |= (data.m >= data_range[0]) & (data.m < data_range[1])
        tmask = w.contains(template.m)
        if not tmask.any():
            raise WindowError(f"window {w.name!r}: the template has no events in it")
        out.append(
            WindowScores(
                window=w,
                data=EventSet(scores=llr_data[dmask][None, :], m=data.m[dmask],
                              label=data.label[dmask]),
                template=EventSet(scores=llr_tmpl[tmask][None, :], m=template.m[tmask]),
            )
        )
    return ScoreFile(
        tuple(out),
        method="exact",
        metadata={"score": "log p_sig(x|m) - log p_bg(x|m)", "features": list(data.feature_names),
                  "n_data": len(data), "n_template": len(template)},
    )

