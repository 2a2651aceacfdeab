"""CUDA data movement: batch gathers and the re-layouts between a network's buffers.

The CPU backend does these with numpy indexing (:mod:`tsrnn._cpu`), with the
same signatures and the same arithmetic (the direction merges add in the
same order), so the network graph (:mod:`tsrnn._graph`) calls either.
"""

from numba import cuda

from ._config import grid_1d, kernel_cache


@kernel_cache
def _build():
    """Gathers and re-layouts between the network's buffers (dtype-generic)."""

    @cuda.jit
    def gather_batch_kernel(X, idx, start, out):
        # out[t, s, d] = X[idx[start + s], t, d]: (n, T, D) -> time-major batch
        T, B, D = out.shape
        for e in range(cuda.grid(1), T * B * D, cuda.gridsize(1)):
            t, r = e // (B * D), e % (B * D)
            s, d = r // D, r % D
            out[t, s, d] = X[idx[start + s], t, d]

    @cuda.jit
    def gather_rows_kernel(Y, idx, start, out):
        # out[s, k] = Y[idx[start + s], k]
        B, O = out.shape
        for e in range(cuda.grid(1), B * O, cuda.gridsize(1)):
            s, k = e // O, e % O
            out[s, k] = Y[idx[start + s], k]

    @cuda.jit
    def gather_labels_kernel(y, idx, start, out):
        for s in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
            out[s] = y[idx[start + s]]

    @cuda.jit
    def slice_batch_kernel(X, start, out):
        # out[t, s, d] = X[start + s, t, d]: a contiguous chunk, time-major
        T, B, D = out.shape
        for e in range(cuda.grid(1), T * B * D, cuda.gridsize(1)):
            t, r = e // (B * D), e % (B * D)
            s, d = r // D, r % D
            out[t, s, d] = X[start + s, t, d]

    @cuda.jit
    def reverse_time_kernel(X, out):
        # out[t] = X[T - 1 - t]
        T, B, D = X.shape
        for e in range(cuda.grid(1), T * B * D, cuda.gridsize(1)):
            t, r = e // (B * D), e % (B * D)
            s, d = r // D, r % D
            out[t, s, d] = X[T - 1 - t, s, d]

    @cuda.jit
    def concat_directions_kernel(Hf, Hr, out):
        # out[t] = [h_t^fwd ; h_t^rev]; Hr runs in reverse time, Hr[T - t] is h_t^rev
        T, B, N2 = out.shape
        N = N2 // 2
        for e in range(cuda.grid(1), T * B * N, cuda.gridsize(1)):
            t, r = e // (B * N), e % (B * N)
            s, j = r // N, r % N
            out[t, s, j] = Hf[t + 1, s, j]
            out[t, s, N + j] = Hr[T - t, s, j]

    @cuda.jit
    def final_state_kernel(H, d, Z):
        # Z[:, dN:(d+1)N] = H[T]: the direction's final state
        T = H.shape[0] - 1
        B, N = H.shape[1], H.shape[2]
        for e in range(cuda.grid(1), B * N, cuda.gridsize(1)):
            s, j = e // N, e % N
            Z[s, d * N + j] = H[T, s, j]

    @cuda.jit
    def top_grad_kernel(dZ, d, dH):
        # dH = 0 except dH[T-1] = dZ[:, dN:(d+1)N] (only the final state feeds the head)
        T, B, N = dH.shape
        for e in range(cuda.grid(1), T * B * N, cuda.gridsize(1)):
            t, r = e // (B * N), e % (B * N)
            s, j = r // N, r % N
            if t == T - 1:
                dH[t, s, j] = dZ[s, d * N + j]
            else:
                dH[t, s, j] = 0

    @cuda.jit
    def split_directions_kernel(dXf, dXr, dHf, dHr):
        # the gradient w.r.t. the concatenated input [h^fwd ; h^rev] of the layer
        # above, summed over that layer's two directions (dXr in reverse time),
        # split back into each direction's own time order
        T, B, N = dHf.shape
        for e in range(cuda.grid(1), T * B * N, cuda.gridsize(1)):
            t, r = e // (B * N), e % (B * N)
            s, j = r // N, r % N
            dHf[t, s, j] = dXf[t, s, j] + dXr[T - 1 - t, s, j]
            dHr[t, s, j] = dXf[T - 1 - t, s, N + j] + dXr[t, s, N + j]

    @cuda.jit
    def merge_directions_kernel(dXf, dXr, dX):
        # dX[t] = dXf[t] + dXr[T - 1 - t]: the two directions' input gradients
        # of the bottom layer, in the user's time order
        T, B, D = dX.shape
        for e in range(cuda.grid(1), T * B * D, cuda.gridsize(1)):
            t, r = e // (B * D), e % (B * D)
            s, j = r // D, r % D
            dX[t, s, j] = dXf[t, s, j] + dXr[T - 1 - t, s, j]

    return {
        "merge_directions": merge_directions_kernel,
        "gather_batch": gather_batch_kernel,
        "gather_rows": gather_rows_kernel,
        "gather_labels": gather_labels_kernel,
        "slice_batch": slice_batch_kernel,
        "reverse_time": reverse_time_kernel,
        "concat_directions": concat_directions_kernel,
        "final_state": final_state_kernel,
        "top_grad": top_grad_kernel,
        "split_directions": split_directions_kernel,
    }


def _launch_1d(name, n, *args):
    _build()[name][grid_1d(n)](*args)


def gpu_gather_batch(X, idx, start, out):
    """Gather out (T, B, D) = X[idx[start:start+B]], time-major; X (n, T, D)."""
    _launch_1d("gather_batch", out.size, X, idx, int(start), out)


def gpu_gather_rows(Y, idx, start, out):
    """Gather out (B, O) = Y[idx[start:start+B]]."""
    _launch_1d("gather_rows", out.size, Y, idx, int(start), out)


def gpu_gather_labels(y, idx, start, out):
    """Gather out (B,) = y[idx[start:start+B]]."""
    _launch_1d("gather_labels", out.size, y, idx, int(start), out)


def gpu_slice_batch(X, start, out):
    """Slice out (T, B, D) = X[start:start+B] transposed to time-major."""
    _launch_1d("slice_batch", out.size, X, int(start), out)


def gpu_reverse_time(X, out):
    """out[t] = X[T-1-t] for (T, B, D) arrays."""
    _launch_1d("reverse_time", X.size, X, out)


def gpu_concat_directions(Hf, Hr, out):
    """Next layer's input: out (T, B, 2N) = [h_t^fwd ; h_t^rev] from states (T+1, B, N)."""
    _launch_1d("concat_directions", out.size // 2, Hf, Hr, out)


def gpu_final_state(H, d, Z):
    """Z[:, dN:(d+1)N] = H[T] (H (T+1, B, N), Z (B, N·dirs))."""
    _launch_1d("final_state", H.shape[1] * H.shape[2], H, int(d), Z)


def gpu_top_grad(dZ, d, dH):
    """Top gradient: dH (T, B, N) = 0 except dH[T-1] = dZ[:, dN:(d+1)N]."""
    _launch_1d("top_grad", dH.size, dZ, int(d), dH)


def gpu_split_directions(dXf, dXr, dHf, dHr):
    """Split the input gradients of the layer above into the lower directions' dH.

    The two directions' dX (T, B, 2N) are summed (dXr in reverse time) and
    split into each lower direction's output gradient (T, B, N), in its own
    time order.
    """
    _launch_1d("split_directions", dHf.size, dXf, dXr, dHf, dHr)


def gpu_merge_directions(dXf, dXr, dX):
    """Bottom input gradient: dX (T, B, D) = dXf + dXr in reverse time.

    The input gradient of a bidirectional bottom layer in the user's time order.
    """
    _launch_1d("merge_directions", dX.size, dXf, dXr, dX)
