"""Weakly supervised classifiers that turn (data, background template) into anomaly scores.

scikit-learn is imported only when a classifier is trained (``bumpstat[ml]`` extra).
"""

from bumpstat.classifiers.bdt import BDTConfig, BDTEnsemble, KFoldScores, fit_ensemble, kfold_scores

__all__ = ["BDTConfig", "BDTEnsemble", "KFoldScores", "fit_ensemble", "kfold_scores"]
