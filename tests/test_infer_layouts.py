"""The inference sweeps' two layouts (tsrnn._infer): the same bits, whichever a layer takes.

Narrow layers sweep with the rows of a block as the vector dimension (``*_infer_lanes``),
wider ones four rows at a time with the units as the vector dimension (``*_infer_rows``).
Both must give every state bit for bit, for any batch (blocks with a tail), inputs, initial
state and width (also widths the rule never sends to the other layout), and a row's states
must depend on that row alone. The expected values come from the other layout and from a
NumPy recurrence, never from the layout under test.
"""

import numpy as np
import pytest

from tsrnn import _infer as I

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
# (N units, D inputs, B rows, T steps): 1-4 units (a partial group of four), tails of the
# 128- and 256-row blocks, an input width that is not a multiple of four, widths above the
# lanes limit
SHAPES = [
    (1, 1, 1, 3),
    (3, 2, 5, 4),
    (4, 1, 130, 6),
    (5, 3, 257, 5),
    (16, 1, 300, 4),
    (17, 33, 129, 3),
    (32, 4, 64, 2),
    (40, 2, 9, 3),
    (64, 3, 70, 2),
    (97, 2, 20, 2),
]


def _layer(cell, N, D, B, T, dtype, seed=0):
    rng = np.random.default_rng(seed)
    G = GATES[cell]
    X = rng.standard_normal((T, B, D)).astype(dtype)
    W_ih = (rng.standard_normal((G * N, D)) * 0.5).astype(dtype)
    W_hh = (rng.standard_normal((G * N, N)) * 0.5 / np.sqrt(N)).astype(dtype)
    biases = [
        (rng.standard_normal(G * N) * 0.1).astype(dtype) for _ in range(2 if cell == "gru" else 1)
    ]
    H = np.zeros((T + 1, B, N), dtype)
    H[0] = rng.standard_normal((B, N)) * 0.3  # an initial state (a bidirectional layer's, say)
    return X, W_ih, W_hh, biases, H


def _sweep(cell, layout, X, W_ih, W_hh, biases, H0):
    H = H0.copy()
    getattr(I, f"{cell}_infer{layout}")(X, W_ih, W_hh, *biases, H)
    return H


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_lanes_and_rows_give_the_same_bits(cell, dtype):
    for N, D, B, T in SHAPES:
        X, W_ih, W_hh, biases, H0 = _layer(cell, N, D, B, T, dtype)
        rows = _sweep(cell, "_rows", X, W_ih, W_hh, biases, H0)
        lanes = _sweep(cell, "_lanes", X, W_ih, W_hh, biases, H0)
        chosen = _sweep(cell, "", X, W_ih, W_hh, biases, H0)
        assert np.isfinite(rows).all()
        np.testing.assert_array_equal(lanes, rows, err_msg=f"{cell} N={N} D={D} B={B} T={T}")
        np.testing.assert_array_equal(chosen, rows)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_final_state_alone_is_the_last_of_all_states(cell, dtype):
    """H of two slots (a prediction's top layer) receives exactly the last of the T + 1."""
    for N, D, B, T in SHAPES + [(5, 2, 7, 1), (20, 2, 7, 1)]:
        X, W_ih, W_hh, biases, H0 = _layer(cell, N, D, B, T, dtype, seed=N)
        every = _sweep(cell, "_rows", X, W_ih, W_hh, biases, H0)
        for layout in ("_rows", "_lanes", ""):
            H2 = np.full((2, B, N), np.nan, dtype)
            H2[0] = H0[0]
            getattr(I, f"{cell}_infer{layout}")(X, W_ih, W_hh, *biases, H2)
            np.testing.assert_array_equal(H2[0], H0[0])  # the initial state is only read
            np.testing.assert_array_equal(
                H2[1], every[-1], err_msg=f"{cell}{layout} N={N} D={D} B={B} T={T}"
            )


def _numpy_recurrence(cell, X, W_ih, W_hh, biases, h):
    """Every state of the layer by the textbook equations, in float64 NumPy (docs/math.md)."""
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    N = W_hh.shape[1]
    c = np.zeros_like(h)
    out = [h]
    for x in X:
        if cell == "rnn":
            h = np.tanh(biases[0] + x @ W_ih.T + h @ W_hh.T)
        elif cell == "lstm":
            a = biases[0] + x @ W_ih.T + h @ W_hh.T
            i, f, g, o = (
                sig(a[:, :N]),
                sig(a[:, N : 2 * N]),
                np.tanh(a[:, 2 * N : 3 * N]),
                sig(a[:, 3 * N :]),
            )
            c = f * c + i * g
            h = o * np.tanh(c)
        else:
            gi, gh = biases[0] + x @ W_ih.T, biases[1] + h @ W_hh.T
            r, z = sig(gi[:, :N] + gh[:, :N]), sig(gi[:, N : 2 * N] + gh[:, N : 2 * N])
            n = np.tanh(gi[:, 2 * N :] + r * gh[:, 2 * N :])
            h = (1.0 - z) * n + z * h
        out.append(h)
    return np.stack(out)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_lanes_follow_the_cell_equations(cell):
    X, W_ih, W_hh, biases, H0 = _layer(cell, 6, 3, 131, 5, np.float64, seed=3)
    got = _sweep(cell, "_lanes", X, W_ih, W_hh, biases, H0)
    want = _numpy_recurrence(cell, X, W_ih, W_hh, biases, H0[0])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_rows_states_depend_on_that_row_alone_in_the_lanes_layout(cell):
    """A NaN in one row stays in that row; a row alone gives the bits it gives in a block."""
    X, W_ih, W_hh, biases, H0 = _layer(cell, 8, 2, 200, 4, np.float32, seed=5)
    full = _sweep(cell, "_lanes", X, W_ih, W_hh, biases, H0)
    X_nan = X.copy()
    X_nan[1, 137, 0] = np.nan
    poisoned = _sweep(cell, "_lanes", X_nan, W_ih, W_hh, biases, H0)
    assert np.isnan(poisoned[2:, 137]).all() and not np.isnan(poisoned[:2]).any()
    others = np.delete(np.arange(200), 137)
    np.testing.assert_array_equal(poisoned[:, others], full[:, others])
    for row in (0, 127, 128, 199):  # first and last rows of the two blocks, alone
        alone = _sweep(
            cell, "_lanes", X[:, row : row + 1], W_ih, W_hh, biases, H0[:, row : row + 1]
        )
        np.testing.assert_array_equal(alone[:, 0], full[:, row])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_which_layers_take_the_lanes_layout(cell):
    def takes(dtype, N):
        return I.uses_lanes(np.zeros((GATES[cell] * N, N), dtype))

    limit = I.LANES_MAX_HIDDEN_F32[cell]
    assert takes(np.float32, 1) and takes(np.float32, limit)
    assert not takes(np.float32, limit + 1)
    assert takes(np.float64, 1) and takes(np.float64, I.LANES_MAX_HIDDEN_F64)
    assert not takes(np.float64, I.LANES_MAX_HIDDEN_F64 + 1)
