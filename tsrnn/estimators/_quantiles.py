"""Quantile levels of ``loss='quantile'``: defaults, validation, non-crossing order."""

import numpy as np

# the quantile levels of loss='quantile' when quantiles=None
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)


def check_quantiles(quantiles, name="quantiles"):
    """Validated quantile levels as a sorted float64 array (0.5 not added).

    Raises a ValueError naming the problem: not a non-empty 1-D sequence of finite numbers,
    a level outside the open interval (0, 1), or a repeated level.
    """
    try:
        levels = np.asarray(quantiles, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a sequence of numbers strictly inside (0, 1), e.g. (0.1, 0.5, 0.9); "
            f"got {quantiles!r}"
        ) from None
    if levels.ndim != 1 or levels.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D sequence of levels, e.g. (0.1, 0.5, 0.9); "
            f"got {quantiles!r}"
        )
    bad = levels[~((levels > 0.0) & (levels < 1.0))]
    if bad.size:
        raise ValueError(
            f"{name} must lie strictly inside (0, 1) (0.1 is the 10 % quantile); got {bad.tolist()}"
        )
    levels = np.sort(levels)
    if np.any(np.diff(levels) == 0.0):
        raise ValueError(f"{name} must not repeat a level; got {np.asarray(quantiles).tolist()}")
    return levels


def sort_quantiles(values):
    """Non-crossing quantiles: ``values`` (..., Q) sorted along the last axis (rearrangement).

    Sorting the Q estimates of each row keeps every level's estimate at least as close to
    the true quantile (Chernozhukov, Fernández-Val & Galichon 2010); NaN sorts last.
    """
    return np.sort(values, axis=-1)


# a target column with a standard deviation below the first (but not 0), or a |mean| or
# standard deviation above the second, gets a warning (see _scale_warning)
