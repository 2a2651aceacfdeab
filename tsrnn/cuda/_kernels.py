"""CUDA twins of :mod:`tsrnn._kernels`, written with ``numba.cuda``: one namespace.

Every CPU kernel ``f`` has a host-side launcher ``gpu_f`` with the same
argument order, taking device arrays instead of numpy arrays.  A launcher may
start one or more ``@cuda.jit`` kernels.  Three systematic differences, all
forced by the device:

* A value the CPU kernel *returns* (a loss, a penalty, a norm) is written into
  a trailing ``res`` argument, a one-element float64 device array, so that no
  launcher has to wait for the device; the caller copies the scalars back once
  per batch.
* The backward sweeps take an optional trailing ``work`` (B, N) device array
  for the carried state (the CPU kernels allocate it).
* The optimiser updates take an optional trailing ``guard`` and skip the
  update on the device when any entry is not finite.

The launchers live in modules split by concern, re-exported here:

* :mod:`~tsrnn.cuda._config` — tile sizes (:data:`CONFIG`, :func:`configure`),
  scratch buffers, and the shared per-element math compiled for the device;
* :mod:`~tsrnn.cuda._gemm` — GEMM, reductions and what is built on them
  (projections, weight/bias/input gradients, head, L2, clipping);
* :mod:`~tsrnn.cuda._sweeps` — the recurrent forward and backward sweeps;
* :mod:`~tsrnn.cuda._updates` — losses, softmax, optimiser updates;
* :mod:`~tsrnn.cuda._layout` — batch gathers and re-layouts between buffers.

Kernels are built lazily, per dtype (never at import).
"""

from ._config import _DEFAULT_CONFIG, CONFIG, configure  # noqa: F401
from ._gemm import (  # noqa: F401
    gpu_bias_gradient,
    gpu_clip_grad_norm,
    gpu_column_sums,
    gpu_gemm,
    gpu_head_backward,
    gpu_head_forward,
    gpu_input_gradient,
    gpu_input_projection,
    gpu_l2_penalty,
    gpu_weight_gradients,
)
from ._layout import (  # noqa: F401
    gpu_concat_directions,
    gpu_final_state,
    gpu_gather_batch,
    gpu_gather_labels,
    gpu_gather_rows,
    gpu_merge_directions,
    gpu_reverse_time,
    gpu_slice_batch,
    gpu_split_directions,
    gpu_top_grad,
)
from ._sweeps import (  # noqa: F401
    gpu_gru_backward,
    gpu_gru_forward,
    gpu_gru_infer,
    gpu_lstm_backward,
    gpu_lstm_forward,
    gpu_lstm_infer,
    gpu_rnn_backward,
    gpu_rnn_forward,
    gpu_rnn_infer,
)
from ._updates import (  # noqa: F401
    gpu_adam_update,
    gpu_mae_loss_grad,
    gpu_mse_loss_grad,
    gpu_quantile_loss_grad,
    gpu_sgd_update,
    gpu_softmax,
    gpu_softmax_xent_loss_grad,
)
