"""Parity with PyTorch nn.RNN / nn.LSTM / nn.GRU + nn.Linear, in float64.

Skipped where torch is absent, so a user's test run needs no torch; ``.ci/run``
installs torch so that these always run in CI.
"""

import itertools

import numpy as np
import pytest

from tsrnn import _network as net

torch = pytest.importorskip("torch")

GRID = list(
    itertools.product(["rnn", "lstm", "gru"], [1, 2], [False, True], ["mse", "mae", "xent"])
)
TORCH_CELL = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _torch_model(spec, state):
    cls = getattr(torch.nn, TORCH_CELL[spec.cell])
    rnn = cls(
        spec.n_features,
        spec.hidden_size,
        num_layers=spec.num_layers,
        bidirectional=spec.bidirectional,
        batch_first=True,
        dtype=torch.float64,
    )
    head = torch.nn.Linear(
        spec.hidden_size * spec.n_directions, spec.n_outputs, dtype=torch.float64
    )
    rnn.load_state_dict({k: torch.from_numpy(v) for k, v in state.items() if "head" not in k})
    head.weight.data = torch.from_numpy(state["head.weight"].copy())
    head.bias.data = torch.from_numpy(state["head.bias"].copy())
    return rnn, head


def _torch_forward(spec, rnn, head, X):
    _, hn = rnn(torch.from_numpy(X))
    if spec.cell == "lstm":
        hn = hn[0]
    z = torch.cat([hn[-2], hn[-1]], dim=1) if spec.bidirectional else hn[-1]
    return head(z)


@pytest.mark.torch
@pytest.mark.parametrize("cell,num_layers,bidirectional,loss", GRID)
def test_outputs_and_gradients_match_pytorch(cell, num_layers, bidirectional, loss):
    rng = np.random.default_rng(7)
    spec = net.NetworkSpec(cell, 3, 5, num_layers, bidirectional, 4)
    theta = net.init_params(spec, rng)
    # give RNN/LSTM a nonzero bias_hh on the torch side: b = bias_ih + bias_hh
    state = net.export_state_dict(spec, theta)
    for name in list(state):
        if name.startswith("bias_hh") and cell != "gru":
            shift = rng.normal(size=state[name].shape)
            state[name] = shift
            state[name.replace("bias_hh", "bias_ih")] -= shift
    theta = net.import_state_dict(spec, state)

    X = rng.normal(size=(6, 7, 3))
    y = rng.integers(0, 4, size=6) if loss == "xent" else rng.normal(size=(6, 4))

    rnn, head = _torch_model(spec, state)
    out_t = _torch_forward(spec, rnn, head, X)
    if loss == "mse":
        L_t = torch.nn.functional.mse_loss(out_t, torch.from_numpy(y))
    elif loss == "mae":
        L_t = torch.nn.functional.l1_loss(out_t, torch.from_numpy(y))
    else:
        L_t = torch.nn.functional.cross_entropy(out_t, torch.from_numpy(y))
    L_t.backward()

    out, _ = net.forward(spec, theta, X)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=0, atol=1e-10)
    L, grad = net.loss_and_grad(spec, theta, X, y, loss)
    assert L == pytest.approx(L_t.item(), abs=1e-10)

    G = net.unpack(spec, grad)
    torch_grads = {k: p.grad.numpy() for k, p in rnn.named_parameters()}
    torch_grads["head.weight"] = head.weight.grad.numpy()
    torch_grads["head.bias"] = head.bias.grad.numpy()
    for name, g in G.items():
        if name.startswith("bias_l"):
            rest = name[len("bias_") :]
            # d/db of b = bias_ih + bias_hh equals each of torch's two gradients
            for side in ("ih", "hh"):
                np.testing.assert_allclose(
                    g, torch_grads[f"bias_{side}_{rest}"], rtol=0, atol=1e-10, err_msg=name
                )
        else:
            np.testing.assert_allclose(g, torch_grads[name], rtol=0, atol=1e-10, err_msg=name)


@pytest.mark.torch
def test_pytorch_trained_weights_load_for_inference():
    torch.manual_seed(0)
    rnn = torch.nn.LSTM(2, 6, num_layers=2, batch_first=True, dtype=torch.float64)
    head = torch.nn.Linear(6, 3, dtype=torch.float64)
    state = {k: v.detach().numpy() for k, v in rnn.state_dict().items()}
    state.update({"head." + k: v.detach().numpy() for k, v in head.state_dict().items()})
    spec = net.NetworkSpec("lstm", 2, 6, 2, False, 3)
    theta = net.import_state_dict(spec, state)
    X = np.random.default_rng(0).normal(size=(5, 9, 2))
    _, (hn, _) = rnn(torch.from_numpy(X))
    expected = head(hn[-1]).detach().numpy()
    np.testing.assert_allclose(net.forward(spec, theta, X)[0], expected, rtol=0, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("cell,bidirectional", [("rnn", False), ("lstm", True), ("gru", False)])
def test_quantile_loss_and_gradients_match_a_pytorch_pinball_loss(cell, bidirectional):
    """loss='quantile' against torch.maximum(τe, (τ-1)e) averaged over rows, outputs, levels."""
    rng = np.random.default_rng(11)
    taus = np.array([0.05, 0.3, 0.5, 0.9])
    O, Q = 2, taus.size
    spec = net.NetworkSpec(cell, 3, 5, 2, bidirectional, O * Q)
    theta = net.init_params(spec, rng)
    state = net.export_state_dict(spec, theta)
    X = rng.normal(size=(6, 7, 3))
    y = rng.normal(size=(6, O))  # continuous targets: no residual is exactly 0 (no tie)

    rnn, head = _torch_model(spec, state)
    out_t = _torch_forward(spec, rnn, head, X).reshape(6, O, Q)
    e = torch.from_numpy(y)[:, :, None] - out_t
    tau = torch.from_numpy(taus)
    L_t = torch.maximum(tau * e, (tau - 1) * e).mean()
    L_t.backward()

    L, grad = net.loss_and_grad(spec, theta, X, np.repeat(y, Q, axis=1), "quantile", quantiles=taus)
    assert L == pytest.approx(L_t.item(), abs=1e-10)
    G = net.unpack(spec, grad)
    torch_grads = {k: p.grad.numpy() for k, p in rnn.named_parameters()}
    torch_grads["head.weight"] = head.weight.grad.numpy()
    torch_grads["head.bias"] = head.bias.grad.numpy()
    for name, g in G.items():
        key = f"bias_ih_{name[len('bias_') :]}" if name.startswith("bias_l") else name
        np.testing.assert_allclose(g, torch_grads[key], rtol=0, atol=1e-10, err_msg=name)
