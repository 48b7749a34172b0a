"""Plots (matplotlib + mplhep). Every function takes ``ax=None``, returns the figure, and saves
only when given a path. mplhep is imported here only, and styles are applied per figure."""
