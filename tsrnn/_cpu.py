"""The CPU backend of the network graph: kernels of :mod:`tsrnn._kernels`, numpy re-layouts.

:data:`CPU` is what :mod:`tsrnn._graph` calls on the CPU; its methods have
the signatures of the CUDA backend's (:mod:`tsrnn.cuda._network`), whose
re-layouts are device kernels doing the same arithmetic in the same order.
"""

import numpy as np

from . import _kernels


class CpuBackend:
    """Host arrays, the Numba CPU kernels and numpy re-layouts."""

    device = "cpu"
    kernels = _kernels
    # Gradient buffers are allocated after the forward pass, as its buffers
    # were: allocating them first made malloc hand the forward fresh pages to
    # fault in at every batch (1.5x slower GRU sweeps, measured).
    preallocate = False
    # An inference workspace's top layer keeps only its final state (its H of two slots,
    # tsrnn._infer): the head reads nothing else.
    final_states_only = True

    empty = staticmethod(np.empty)
    zeros = staticmethod(np.zeros)
    head_forward = staticmethod(_kernels.head_forward)
    head_backward = staticmethod(_kernels.head_backward)
    weight_gradients = staticmethod(_kernels.weight_gradients)
    bias_gradient = staticmethod(_kernels.bias_gradient)
    input_gradient = staticmethod(_kernels.input_gradient)

    @staticmethod
    def reverse_time(X, out):
        """out[t] = X[T-1-t] for (T, B, D) arrays."""
        out[...] = X[::-1]

    @staticmethod
    def concat_directions(Hf, Hr, out):
        """Next layer's input: out (T, B, 2N) = [h_t^fwd ; h_t^rev] from states (T+1, B, N)."""
        N = Hf.shape[2]
        out[:, :, :N] = Hf[1:]
        out[:, :, N:] = Hr[1:][::-1]

    @staticmethod
    def final_state(H, d, Z):
        """Z[:, dN:(d+1)N] = the final states H[-1].

        H is (T+1, B, N), or (2, B, N) for a prediction's top layer; Z is (B, N·dirs).
        """
        N = H.shape[2]
        Z[:, d * N : (d + 1) * N] = H[-1]

    @staticmethod
    def top_grad(dZ, d, dH):
        """Top gradient: dH (T, B, N) = 0 except dH[T-1] = dZ[:, dN:(d+1)N]."""
        N = dH.shape[2]
        dH[:-1] = 0.0
        dH[-1] = dZ[:, d * N : (d + 1) * N]

    @staticmethod
    def split_directions(dXf, dXr, dHf, dHr):
        """Split the input gradients of the layer above into the lower directions' dH.

        The two directions' dX (T, B, 2N) are summed (dXr in reverse time) and
        split into each lower direction's output gradient (T, B, N), in its
        own time order.
        """
        N = dHf.shape[2]
        np.add(dXf[:, :, :N], dXr[::-1, :, :N], out=dHf)
        np.add(dXf[::-1, :, N:], dXr[:, :, N:], out=dHr)

    @staticmethod
    def merge_directions(dXf, dXr, dX):
        """Bottom input gradient: dX (T, B, D) = dXf + dXr in reverse time."""
        np.add(dXf, dXr[::-1], out=dX)


CPU = CpuBackend()
