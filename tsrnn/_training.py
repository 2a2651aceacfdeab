"""Optimisers and the mini-batch training loop (no scikit-learn here).

The estimator decides *what* to train (epochs, batches, early stopping); a
trainer does one epoch of mini-batch updates on one device.  The CPU trainer
below and :class:`tsrnn.cuda.CudaTrainer` share this interface:

``Trainer(spec, theta, optimizer, loss, alpha, clip_grad_norm, optimizer_state, quantiles)``
    ``theta`` is the flat float32/float64 parameter vector (host numpy);
    ``quantiles`` the levels of ``loss='quantile'`` (None for the other losses).
``train_epoch(X, y, batches) -> (mean_loss, ok)``
    ``X`` (n, T, D) in the model dtype, ``y`` (n, O) targets or (n,) int64
    labels, ``batches`` a list of index arrays.  ``ok`` is False when a
    non-finite loss or gradient stopped the epoch; the weights are then those
    of the last finite step.
``predict(X) -> ndarray (n, O)``
``get_params() -> ndarray``
    Host copy of theta.
``get_optimizer_state() -> dict``
    Host numpy arrays and plain numbers, for warm starts and pickling.
"""

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numba
import numpy as np
from threadpoolctl import ThreadpoolController

from . import _fused
from . import _kernels as K
from . import _network as net
from ._epochs import Batches
from ._registry import LOSSES, OPTIMIZERS, call, lookup


def predict(spec, theta, X):
    """Network outputs for X (n, T, D), row chunks spread over threads."""
    with cpu_parallel(X.shape[0], net.PREDICT_CHUNK_ROWS) as executor:
        return net.predict(spec, theta, X, executor)


class Optimizer:
    """An optimiser of the registry (:data:`tsrnn._registry.OPTIMIZERS`) on the CPU.

    Subclasses set ``name``; the hyper-parameters, the state arrays and the
    update kernel are the registry entry's.
    """

    name = None

    @property
    def entry(self):
        """The registry entry of this optimiser."""
        return OPTIMIZERS[self.name]

    def hyperparameters(self):
        """The hyper-parameters by name, as the update kernels take them."""
        return {key: getattr(self, key) for key in self.entry.hyperparameters}

    def init_state(self, theta):
        """Zero state arrays shaped like theta, and step 0."""
        state = {key: np.zeros_like(theta) for key in self.entry.state}
        state["step"] = 0
        return state

    def step(self, theta, grad, state):
        """One update of theta in place from grad; advances ``state``."""
        state["step"] += 1
        values = {"theta": theta, "grad": grad, **state, **self.hyperparameters()}
        call(K, self.entry.kernels["cpu"]["update"], values)


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum."""

    name = "sgd"

    def __init__(self, learning_rate, momentum=0.0, nesterov=False):
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with PyTorch's bias-corrected update."""

    name = "adam"

    def __init__(self, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = float(learning_rate)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)


#: The optimiser class of each registry entry.
OPTIMIZER_CLASSES = {"sgd": SGD, "adam": Adam}


_CONTROLLER = None

# The BLAS limit shared by every thread inside a tsrnn region: the number of regions active
# and the limiter that restores the limits the first of them found.
_BLAS_LOCK = threading.Lock()
_BLAS_REGIONS = 0
_BLAS_LIMITER = None
_BLAS_SPLIT = None


def _blas_controller():
    """The thread-pool controller, created once, after the BLAS the kernels call is loaded.

    The kernels' ``np.dot`` calls the BLAS that Numba loads from SciPy, which
    ``import tsrnn`` no longer loads; a controller made before it would not
    see it, and that BLAS would run threaded inside the kernels (measured 3-10x
    slower training on a loaded machine).
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        from numba.np.linalg import ensure_blas

        ensure_blas()
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def _blas_split():
    """(process-wide, per-thread) controllers of the BLAS libraries, made once.

    OpenBLAS built on OpenMP keeps one limit per calling thread; every other
    BLAS threadpoolctl knows (OpenBLAS on pthreads, MKL, BLIS, FlexiBLAS) one
    limit for the whole process.
    """
    global _BLAS_SPLIT
    if _BLAS_SPLIT is None:
        blas = _blas_controller().select(user_api="blas")
        per_thread = blas.select(internal_api="openblas").select(threading_layer="openmp")
        local = {lib.filepath for lib in per_thread.lib_controllers}
        shared = blas.select(
            filepath=[lib.filepath for lib in blas.lib_controllers if lib.filepath not in local]
        )
        _BLAS_SPLIT = (shared, per_thread)
    return _BLAS_SPLIT


def _release_blas_control():
    """Let any thread set OpenBLAS's process-wide limit (threadpoolctl >= 3.8).

    threadpoolctl 3.8 lets only one thread change a process-wide OpenBLAS limit
    (the first to do so, until it leaves a ``with`` block of its own); the
    others' calls do nothing.  The regions here are entered and left by
    different threads, under :data:`_BLAS_LOCK`, so each change is made from a
    released state and released afterwards.  A no-op before 3.8.
    """
    import threadpoolctl

    clear = getattr(
        getattr(threadpoolctl, "OpenBLASController", None), "clear_controlling_thread", None
    )
    if clear is not None:
        clear(force=True)


@contextmanager
def blas_single_threaded():
    """Hold BLAS to one thread for the duration, safely across threads and nesting.

    threadpoolctl's limits are process-wide, so one limit per call fails when
    the calls of several threads overlap: the second saves the first's limit
    (1) and, leaving last, "restores" it, pinning the process's BLAS to one
    thread for good (and the first, leaving early, lifts the limit under the
    second).  Here all regions share one limit: the first to enter sets it, the
    last to leave restores the limits the first found, so BLAS runs on one
    thread inside any active region and as it was once none is.  A BLAS with
    per-thread limits (OpenBLAS on OpenMP) is limited and restored by each
    region on its own thread, as nesting on one thread is properly ordered.
    """
    global _BLAS_REGIONS, _BLAS_LIMITER
    shared, per_thread = _blas_split()
    with _BLAS_LOCK:
        if _BLAS_REGIONS == 0 and shared.lib_controllers:
            _release_blas_control()
            try:
                _BLAS_LIMITER = shared.limit(limits=1, user_api="blas")
            finally:
                _release_blas_control()
        _BLAS_REGIONS += 1
    try:
        if per_thread.lib_controllers:
            with per_thread.limit(limits=1, user_api="blas"):
                yield
        else:
            yield
    finally:
        with _BLAS_LOCK:
            _BLAS_REGIONS -= 1
            if _BLAS_REGIONS == 0 and _BLAS_LIMITER is not None:
                limiter, _BLAS_LIMITER = _BLAS_LIMITER, None
                _release_blas_control()
                try:
                    limiter.restore_original_limits()
                finally:
                    _release_blas_control()


@contextmanager
def cpu_parallel(batch_rows, chunk_rows, n_threads=None):
    """Thread pool for the row chunks of a batch, BLAS held to one thread.

    Parallelism comes from running the chunks of a batch on separate threads
    (the kernels release the GIL).  BLAS stays single-threaded throughout: its
    own threads on top of ours oversubscribe the cores, and even alone they
    cost more than they give on a chunk's products (the input projection and
    the weight gradients; threaded BLAS inside parallel work was measured 50x
    slower on 2 cores).  The limit is :func:`blas_single_threaded`'s, shared with
    concurrent calls from other threads.  Yields the executor, or None when one
    chunk or one thread.
    """
    n_threads = numba.get_num_threads() if n_threads is None else n_threads
    with blas_single_threaded():
        if n_threads <= 1 or batch_rows <= chunk_rows:
            yield None
            return
        workers = min(n_threads, -(-batch_rows // chunk_rows))
        # the calling thread works too (tsrnn._network._map): the pool has one thread fewer
        with ThreadPoolExecutor(max_workers=workers - 1) as executor:
            yield executor


@contextmanager
def _team(executor, trainer, batch_rows):
    """The epoch's :class:`~tsrnn._network.ChunkTeam` where a pool would run its batches."""
    team = None
    if executor is not None:
        team = net.chunk_team(
            trainer.spec, trainer.theta, batch_rows, trainer.loss, trainer.quantiles
        )
    if team is None:
        yield None
        return
    with team:
        yield team


class CpuTrainer:
    """Mini-batch training of a :class:`~tsrnn._network.NetworkSpec` on the CPU."""

    def __init__(
        self,
        spec,
        theta,
        optimizer,
        loss="mse",
        alpha=0.0,
        clip_grad_norm=None,
        optimizer_state=None,
        quantiles=None,
    ):
        self.spec = spec
        self.quantiles = quantiles
        self.theta = np.array(theta, copy=True)  # writable, owned
        self.optimizer = optimizer
        self.loss = loss
        self.alpha = float(alpha)
        self.clip = clip_grad_norm
        self.mask = spec.weight_mask()
        if optimizer_state is None:
            optimizer_state = optimizer.init_state(self.theta)
        self.state = {
            k: (np.array(v, dtype=self.theta.dtype) if isinstance(v, np.ndarray) else v)
            for k, v in optimizer_state.items()
        }

    def train_epoch(self, X, y, batches):
        total, count = 0.0, 0
        largest = batches.largest if isinstance(batches, Batches) else max(map(len, batches))
        with (
            cpu_parallel(largest, net.chunk_rows(self.spec, largest)) as executor,
            _team(executor, self, largest) as team,
        ):
            block = _Block.make(self, X, y, largest, executor, team)
            k, n = 0, len(batches)
            while k < n:
                k1, rows = k, None
                if block is not None:
                    k1, rows = _full_run(batches, k, block.n_batches, largest)
                if k1 > k:
                    # a run of full batches in one compiled call (the same steps, the same bits)
                    losses, ok = block.run(X, y, rows)
                    for L in losses.tolist():
                        total += L * largest
                        count += largest
                    if not ok:
                        return (total / count if count else float("nan")), False
                    k = k1
                    continue
                idx = batches[k]
                k += 1
                L, grad = net.loss_and_grad(
                    self.spec,
                    self.theta,
                    X[idx],
                    y[idx],
                    self.loss,
                    self.alpha,
                    self.mask,
                    executor,
                    self.quantiles,
                    team,
                )
                if not (math.isfinite(L) and K.all_finite(grad)):
                    return (total / count if count else float("nan")), False
                if self.clip is not None:
                    K.clip_grad_norm(grad, self.clip)
                self.optimizer.step(self.theta, grad, self.state)
                total += L * len(idx)
                count += len(idx)
        return total / count, True

    def predict(self, X):
        return predict(self.spec, self.theta, X)

    def get_params(self):
        return self.theta.copy()

    def get_optimizer_state(self):
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.state.items()}


def _full_run(batches, k, limit, largest):
    """``(k1, rows)``: batches ``k .. k1 - 1`` are full, at most ``limit``; their rows in order.

    ``k1 == k`` when batch ``k`` is not full (has fewer rows than ``largest``, the largest
    batch's). :meth:`Batches.full_run` where it applies, else by looking at each batch.
    """
    if isinstance(batches, Batches):
        return batches.full_run(k, limit)
    k1 = k
    while k1 < len(batches) and k1 - k < limit and len(batches[k1]) == largest:
        k1 += 1
    return k1, (np.concatenate(batches[k:k1]) if k1 > k else None)


#: Rows of full mini-batches trained per compiled call (:class:`_Block`): a few dozen
#: batches, tens of milliseconds, between the returns to Python that let Ctrl-C through...
BLOCK_ROWS = 2048
#: ... and at most this many bytes of their gathered inputs (long windows with many features),
#: so that streamed training stays at the data plus the model plus a few batches.
BLOCK_BYTES = 8 * 2**20


class _Block:
    """Runs of full mini-batches trained in compiled calls.

    :func:`tsrnn._fused.train_block` does for each batch what the loop of
    :meth:`CpuTrainer.train_epoch` does -- the same chunks on the same workspaces (the
    calling thread's and a chunk team's), the same kernels in the same order -- without
    returning to Python between batches: about 200 microseconds of serial Python per batch
    less (a third of a two-thread batch of the default forecaster). The same bits.

    Where it does not apply (:meth:`make` gives None) the loop trains batch by batch:
    class labels, batches that a thread pool would split other than into a team's chunks.
    """

    @classmethod
    def make(cls, trainer, X, y, B, executor, team):
        """The block runner for full batches of ``B`` rows, or None where none applies."""
        spec = trainer.spec
        entry = lookup(LOSSES, trainer.loss, "loss")
        rows = net.chunk_rows(spec, B)
        if (
            entry.integer_target
            or trainer.optimizer.name not in ("sgd", "adam")
            or getattr(X, "ndim", None) != 3
            or getattr(y, "ndim", None) != 2
            or B % rows
        ):
            return None
        if executor is not None and (team is None or B != team.rows * team.n_chunks):
            return None
        return cls(trainer, X.shape[1], X.shape[2], B, rows, entry, team)

    def __init__(self, trainer, T, X_features, B, rows, entry, team):
        self.trainer, self.B, self.team = trainer, B, team
        theta = trainer.theta
        row_bytes = T * X_features * theta.dtype.itemsize
        self.n_batches = max(1, min(BLOCK_ROWS, BLOCK_BYTES // row_bytes) // B)
        taus = net.quantile_levels(entry, trainer.quantiles, trainer.spec.n_outputs)
        self.own = net.block_step(trainer.spec, theta, T, rows, entry, taus, B)
        if team is not None:
            self.helpers = team.buffers(T)
        else:  # no helper: placeholders of the helpers' types (the call compiles once for both)
            _, X_, T_, G_ = self.own
            self.helpers = ((X_,), (T_,), (G_,), (np.zeros(3, np.int64),), (np.zeros(1),))
        self.n_helpers = 0 if team is None else len(team.helpers)
        self.n_chunks = B // rows
        self.x_dtype, self.y_dtype = theta.dtype, entry.target_dtype(theta.dtype)
        self.grad = np.empty_like(theta)
        self.partial = np.zeros(1)
        # the registry's order of hyper-parameters and state arrays is train_block's
        opt = trainer.optimizer
        self.opt = 1 if opt.name == "adam" else 0
        states = [trainer.state[key] for key in opt.entry.state]
        self.s1, self.s2 = states[0], states[-1]  # SGD: its velocity twice
        self.hyper = np.array(list(opt.hyperparameters().values()), dtype=np.float64)
        self.clip = -1.0 if trainer.clip is None else float(trainer.clip)

    def run(self, X, y, idx):
        """Train on the full batches whose rows are ``idx``: (their losses, all finite)."""
        trainer, team, B = self.trainer, self.team, self.B
        Xb = np.ascontiguousarray(X[idx], dtype=self.x_dtype)
        Yb = np.ascontiguousarray(y[idx], dtype=self.y_dtype)
        nb = len(idx) // B
        losses = np.empty(nb)
        own, own_X, own_T, own_G = self.own
        done, resume = 0, False
        if team is not None:
            team.wake()  # helpers idle since the last block have gone to sleep
        while True:
            seq0 = 0 if team is None else team.seq - resume
            b, status = _fused.train_block(
                own, own_X, own_T, own_G, *self.helpers, self.n_helpers,
                Xb[done * B :], Yb[done * B :], nb - done, self.n_chunks, resume, seq0,
                trainer.theta, self.grad, trainer.mask, trainer.alpha, self.clip,
                self.opt, self.s1, self.s2, self.hyper, trainer.state["step"],
                losses[done:], self.partial,
            )  # fmt: skip
            trainer.state["step"] += b
            if team is not None:  # the last task posted
                team.seq = seq0 + b + (status != _fused.BLOCK_DONE)
            done += b
            if status != _fused.BLOCK_WAKE:
                return losses[:done], status == _fused.BLOCK_DONE
            team.wake()
            resume = True
