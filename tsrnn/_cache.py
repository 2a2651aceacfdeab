"""Where Numba caches tsrnn's compiled kernels.

Imported (for its side effect) at the top of every module that defines
``cache=True`` kernels, before the first decorator runs.
"""
