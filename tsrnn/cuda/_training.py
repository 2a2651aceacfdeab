"""Mini-batch training on the GPU: :class:`CudaTrainer`, the twin of CpuTrainer.

The interface is that of :class:`tsrnn._training.CpuTrainer` (see its module
docstring).  For the whole fit the data, the parameters, the gradient, the
optimiser state and every workspace stay on the device: ``X``/``y`` are
uploaded once and cached, each epoch uploads only its batch order (one int64
vector), batches are gathered on the device, and per batch only the loss,
penalty and gradient norm (three float64 scalars) come back to the host.
"""

import math

import numpy as np

from .. import _network as cpu_net
from .. import _training as cpu_training
from .._registry import LOSSES, OPTIMIZERS, call, lookup
from . import require_cuda


class CudaTrainer:
    """Mini-batch training of a :class:`~tsrnn._network.NetworkSpec` on a GPU.

    Parameters
    ----------
    spec : NetworkSpec
    theta : ndarray of shape (n_params,)
        Initial flat parameters, float32 or float64 (host numpy).
    optimizer : tsrnn._training.SGD or tsrnn._training.Adam
    loss : {'mse', 'mae', 'quantile', 'xent'}, default='mse'
    alpha : float, default=0.0
        L2 penalty (see :func:`tsrnn._network.loss_and_grad`).
    clip_grad_norm : float or None, default=None
        Global gradient-norm clipping threshold.
    optimizer_state : dict, optional
        From :meth:`get_optimizer_state` (of either trainer), to warm start.
    quantiles : array-like of float, optional
        The quantile levels of ``loss='quantile'`` (uploaded once).

    Raises
    ------
    RuntimeError
        No usable GPU (see :func:`tsrnn.cuda.require_cuda`).
    """

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
        require_cuda()
        from numba import cuda

        from . import _network as dnet

        self._cuda, self._dnet = cuda, dnet
        theta = np.asarray(theta)
        if theta.dtype not in (np.float32, np.float64):
            raise TypeError(f"theta must be float32 or float64, got {theta.dtype}")
        if theta.shape != (spec.n_params,):
            raise ValueError(f"theta must have shape ({spec.n_params},), got {theta.shape}")
        self._loss = lookup(LOSSES, loss, "loss")
        taus = cpu_net.quantile_levels(self._loss, quantiles, spec.n_outputs)
        self.quantiles = quantiles
        self._taus = None if taus is None else cuda.to_device(taus)
        if not isinstance(optimizer, cpu_training.Optimizer) or optimizer.name not in OPTIMIZERS:
            raise TypeError(f"optimizer must be tsrnn SGD or Adam, got {type(optimizer).__name__}")
        self.spec, self.optimizer, self.loss = spec, optimizer, loss
        self.alpha = float(alpha)
        self.clip = clip_grad_norm
        self.dtype = theta.dtype
        self.theta = cuda.to_device(np.ascontiguousarray(theta))
        self.grad = cuda.device_array_like(self.theta)
        self.P = dnet.unpack(spec, self.theta)
        self.G = dnet.unpack(spec, self.grad)
        self.mask = cuda.to_device(spec.weight_mask())
        self._init_state(theta, optimizer_state)
        # res: [data loss, L2 penalty, gradient norm], read back once per batch
        self.res = cuda.to_device(np.zeros(3))
        self._res_norm = self.res[2:3]
        self._train_ws = dnet.WorkspaceCache(spec, self.dtype, loss, train=True)
        self._predict_ws = dnet.WorkspaceCache(spec, self.dtype, loss, train=False)
        self._train_data = None  # (X, y, X_dev, y_dev): host refs keep the ids valid
        self._predict_data = None  # (X, X_dev)
        self.n_uploads = 0  # host-to-device copies of data sets, for tests

    def _init_state(self, theta, optimizer_state):
        if optimizer_state is None:
            optimizer_state = self.optimizer.init_state(theta)
        self.step = int(optimizer_state.get("step", 0))
        self.state = {}
        for key, value in optimizer_state.items():
            if isinstance(value, np.ndarray):
                if value.shape != theta.shape:
                    raise ValueError(f"optimizer state {key!r} has shape {value.shape}")
                value = np.ascontiguousarray(value, dtype=self.dtype)
                self.state[key] = self._cuda.to_device(value)
        needed = OPTIMIZERS[self.optimizer.name].state
        missing = [k for k in needed if k not in self.state]
        if missing:
            raise ValueError(f"optimizer state lacks {missing} for {self.optimizer.name}")

    # ------------------------------------------------------------------
    # data on the device
    # ------------------------------------------------------------------

    def _check_X(self, X):
        X = np.ascontiguousarray(X, dtype=self.dtype)
        if X.ndim != 3 or X.shape[2] != self.spec.n_features:
            raise ValueError(f"X must have shape (n, T, {self.spec.n_features}), got {X.shape}")
        return X

    def _check_y(self, y, n):
        if self._loss.integer_target:
            y = np.ascontiguousarray(y, dtype=np.int64)
            if y.shape != (n,):
                raise ValueError(f"labels must have shape ({n},), got {y.shape}")
            if n and (y.min() < 0 or y.max() >= self.spec.n_outputs):
                raise ValueError(f"labels must lie in [0, {self.spec.n_outputs})")
        else:
            y = np.ascontiguousarray(y, dtype=self.dtype)
            if y.shape != (n, self.spec.n_outputs):
                raise ValueError(f"y must have shape ({n}, {self.spec.n_outputs}), got {y.shape}")
        return y

    def _upload_train(self, X, y):
        """Device copies of X and y, uploaded once per data set (by identity)."""
        cached = self._train_data
        if cached is not None and cached[0] is X and cached[1] is y:
            return cached[2], cached[3]
        Xc = self._check_X(X)
        yc = self._check_y(y, Xc.shape[0])
        self._train_data = None  # free the old device copies first
        X_dev, y_dev = self._cuda.to_device(Xc), self._cuda.to_device(yc)
        self.n_uploads += 1
        self._train_data = (X, y, X_dev, y_dev)
        return X_dev, y_dev

    def _upload_predict(self, X):
        cached = self._predict_data
        if cached is not None and cached[0] is X:
            return cached[1]
        if self._train_data is not None and self._train_data[0] is X:
            return self._train_data[2]
        X_dev = self._cuda.to_device(self._check_X(X))
        self.n_uploads += 1
        self._predict_data = (X, X_dev)
        return X_dev

    # ------------------------------------------------------------------
    # the trainer interface
    # ------------------------------------------------------------------

    def train_epoch(self, X, y, batches):
        """One epoch of mini-batch updates; returns ``(mean_loss, ok)``.

        ``ok`` is False when a non-finite loss or gradient stopped the epoch;
        the update of that batch is skipped on the device, so the weights are
        those of the last finite step.
        """
        from . import _kernels as K

        X_dev, y_dev = self._upload_train(X, y)
        batches = [np.asarray(b, dtype=np.int64).ravel() for b in batches]
        n = X_dev.shape[0]
        for b in batches:
            if b.size and (b.min() < -n or b.max() >= n):
                raise IndexError(f"batch index out of range for {n} samples")
        order = np.concatenate(batches) if batches else np.zeros(0, np.int64)
        order = np.where(order < 0, order + n, order)
        idx = self._cuda.to_device(order)
        T = X_dev.shape[1]
        total, count, start = 0.0, 0, 0
        for b in batches:
            B = b.size
            if B == 0:
                continue
            ws = self._train_ws.get(T, B)
            K.gpu_gather_batch(X_dev, idx, start, ws.X)
            target = self._loss.target
            values = {"data": y_dev, "idx": idx, "start": start, target: getattr(ws, target)}
            call(K, self._loss.kernels["cuda"]["gather"], values)
            start += B
            L, ok = self._step(ws)
            if not ok:
                return (total / count if count else float("nan")), False
            total += L * B
            count += B
        return (total / count if count else float("nan")), True

    def _step(self, ws):
        """Loss, gradient, clipping and update of one gathered batch."""
        from . import _kernels as K

        self._dnet.loss_and_grad(
            self.spec,
            self.P,
            self.G,
            ws,
            self.loss,
            self.alpha,
            self.mask,
            self.theta,
            self.grad,
            self.res,
            self._taus,
        )
        # the norm is measured even without clipping: it flags a non-finite gradient
        clip = math.inf if self.clip is None else float(self.clip)
        K.gpu_clip_grad_norm(self.grad, clip, self._res_norm)
        self.step += 1
        opt = self.optimizer
        values = {
            "theta": self.theta,
            "grad": self.grad,
            **self.state,
            **opt.hyperparameters(),
            "step": self.step,
            "guard": self.res,
        }
        call(K, OPTIMIZERS[opt.name].kernels["cuda"]["update"], values)
        r = self.res.copy_to_host()  # the one device-to-host copy per batch
        L = float(r[0] + r[1])
        if not (math.isfinite(L) and math.isfinite(r[2])):
            self.step -= 1  # the device skipped the update
            return L, False
        return L, True

    def predict(self, X):
        """Network outputs (n, O) as host numpy, computed in chunks on the device."""
        X_dev = self._upload_predict(X)
        return self._dnet.predict(self.spec, self.P, X_dev, self._predict_ws)

    def get_params(self):
        """Host copy of theta."""
        return self.theta.copy_to_host()

    def get_optimizer_state(self):
        """Host numpy arrays and plain numbers, for warm starts and pickling."""
        state = {k: v.copy_to_host() for k, v in self.state.items()}
        state["step"] = self.step
        return state

    def __getstate__(self):
        raise TypeError(
            "CudaTrainer holds device memory and is not picklable; "
            "pickle get_params() and get_optimizer_state() instead"
        )
