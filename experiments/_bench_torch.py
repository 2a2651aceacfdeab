"""The PyTorch side of ``bench_speed.py``: the equivalent model and training loop.

``nn.RNN/LSTM/GRU`` (batch first) + ``nn.Linear`` on the last hidden state of the top layer
(each direction), trained with Adam (lr 1e-3) on MSE: index slicing of a pre-made tensor,
``randperm``, ``zero_grad``, forward, ``mse_loss``, ``backward``, ``Adam.step``; inference
under ``torch.no_grad()`` in batches of 1024 or in one batch, whichever is faster.
"""

import math
import time

__all__ = ["import_torch", "time_torch", "torch_model"]


def import_torch():
    """The ``torch`` module, or None when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_model(torch, cfg, n_features, n_outputs):
    """The PyTorch network of one benchmark row ``cfg`` (cell, hidden, layers, directions)."""
    nn = torch.nn
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cfg["cell"]]
    dirs = 2 if cfg["bidirectional"] else 1
    tdtype = getattr(torch, cfg["dtype"])

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = cls(
                n_features,
                cfg["hidden"],
                num_layers=cfg["num_layers"],
                bidirectional=cfg["bidirectional"],
                batch_first=True,
                dtype=tdtype,
            )
            self.head = nn.Linear(cfg["hidden"] * dirs, n_outputs, dtype=tdtype)

        def forward(self, x):
            _, h = self.rnn(x)
            if isinstance(h, tuple):  # LSTM: (h_n, c_n)
                h = h[0]
            z = h[-dirs:].transpose(0, 1).reshape(x.shape[0], -1)  # top layer, each direction
            return self.head(z)

    return Net()


def time_torch(torch, cfg, X, Y, Xp, epochs, repeats, seed):
    """(train s, predict s, predict mode) for the equivalent PyTorch loop, best of repeats."""
    F = torch.nn.functional
    Xt, Yt, Xpt = torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(Xp)
    n, batch = X.shape[0], cfg["batch_size"]
    gen = torch.Generator().manual_seed(seed)

    def run_epochs(model, opt, n_rows, n_epochs):
        total = 0.0
        for _ in range(n_epochs):
            perm = torch.randperm(n_rows, generator=gen)
            for i in range(0, n_rows, batch):
                idx = perm[i : i + batch]
                xb, yb = Xt[idx], Yt[idx]
                opt.zero_grad(set_to_none=True)
                loss = F.mse_loss(model(xb), yb)
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)  # tsrnn keeps the epoch loss too
        return total

    def fresh():
        torch.manual_seed(seed)
        model = torch_model(torch, cfg, X.shape[2], Y.shape[1])
        return model, torch.optim.Adam(model.parameters(), lr=1e-3)

    model, opt = fresh()
    run_epochs(model, opt, min(n, 4 * batch), 1)  # warm-up: allocator, thread pool, kernels
    train = math.inf
    for _ in range(repeats):
        model, opt = fresh()
        t0 = time.perf_counter()
        run_epochs(model, opt, n, epochs)
        train = min(train, time.perf_counter() - t0)

    modes = {"batches of 1024": 1024, "one batch": Xp.shape[0]}
    best, best_mode = math.inf, None
    with torch.no_grad():
        model.eval()
        model(Xpt[:batch])  # warm-up
        for mode, size in modes.items():
            for _ in range(repeats + 1):
                t0 = time.perf_counter()
                for i in range(0, Xp.shape[0], size):
                    model(Xpt[i : i + size])
                t = time.perf_counter() - t0
                if t < best:
                    best, best_mode = t, mode
    return train, best, best_mode
