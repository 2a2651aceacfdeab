"""tsrnn against references outside tsrnn: PyTorch's optimisers, and cells by hand.

* The optimisers (Adam with non-default beta_1, beta_2, epsilon; SGD with
  momentum and Nesterov momentum) and gradient clipping step for step against
  ``torch.optim`` and ``torch.nn.utils.clip_grad_norm_`` in float64, and one
  whole estimator fit against the same training loop written in PyTorch.
  Skipped where torch is absent; ``.ci/run`` installs torch.
* One- and two-step forwards of the Elman, LSTM and GRU cells on a tiny
  network whose parameters are set by hand, against numbers worked out from
  the textbook formulas with ``math.tanh`` and ``math.exp`` (no torch, no
  tsrnn), through both the training kernels (``keep_cache=True``) and the
  fused inference kernels (``keep_cache=False``).
"""

import math
import warnings

import numpy as np
import pytest

from tsrnn import LSTMRegressor
from tsrnn import _kernels as K
from tsrnn import _network as net
from tsrnn._backend import make_optimizer

# --------------------------------------------------------------------------
# optimisers and clipping against torch.optim, step by step
# --------------------------------------------------------------------------

N_PARAMS, N_STEPS = 9, 5


def _params_and_grads(seed=0):
    """A parameter vector and N_STEPS gradients whose sizes span 1e-4 .. 10.

    Small gradients make Adam's epsilon matter (sqrt(v) is then of its order).
    """
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=N_PARAMS)
    scale = 10.0 ** rng.uniform(-4, 1, size=N_PARAMS)
    grads = [rng.normal(size=N_PARAMS) * scale for _ in range(N_STEPS)]
    return theta, grads


def _torch_steps(torch, make, theta0, grads):
    p = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    opt = make([p])
    out = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def _tsrnn_steps(opt, theta0, grads):
    theta = theta0.copy()
    state = opt.init_state(theta)
    out = []
    for g in grads:
        opt.step(theta, g.copy(), state)
        out.append(theta.copy())
    return out


@pytest.mark.torch
@pytest.mark.parametrize(
    "beta_1,beta_2,epsilon", [(0.9, 0.999, 1e-8), (0.7, 0.95, 1e-3), (0.0, 0.5, 1e-2)]
)
def test_adam_matches_torch_step_by_step(beta_1, beta_2, epsilon):
    torch = pytest.importorskip("torch")
    theta0, grads = _params_and_grads()
    lr = 0.05
    expected = _torch_steps(
        torch,
        lambda ps: torch.optim.Adam(ps, lr=lr, betas=(beta_1, beta_2), eps=epsilon),
        theta0,
        grads,
    )
    opt = make_optimizer("adam", lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    got = _tsrnn_steps(opt, theta0, grads)
    for step, (a, b) in enumerate(zip(got, expected), 1):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12, err_msg=f"step {step}")
    assert not np.allclose(got[-1], theta0)  # it moved


@pytest.mark.torch
@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.7, False), (0.7, True)])
def test_sgd_matches_torch_step_by_step(momentum, nesterov):
    torch = pytest.importorskip("torch")
    theta0, grads = _params_and_grads(1)
    lr = 0.03
    expected = _torch_steps(
        torch,
        lambda ps: torch.optim.SGD(ps, lr=lr, momentum=momentum, nesterov=nesterov),
        theta0,
        grads,
    )
    opt = make_optimizer("sgd", lr, momentum=momentum, nesterov=nesterov)
    got = _tsrnn_steps(opt, theta0, grads)
    for step, (a, b) in enumerate(zip(got, expected), 1):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12, err_msg=f"step {step}")


@pytest.mark.torch
@pytest.mark.parametrize("ratio", [3.0, 1.0 + 1e-3, 0.25, 1e-3])
def test_clip_grad_norm_matches_torch(ratio):
    """max_norm = ratio * ||g||: below the limit (untouched) and above it (scaled)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    g = rng.normal(size=11) * 4.0
    max_norm = ratio * float(np.sqrt(np.sum(g**2)))
    # torch clips the global norm over several tensors: split g into three
    parts = [torch.nn.Parameter(torch.zeros(n, dtype=torch.float64)) for n in (4, 5, 2)]
    for p, chunk in zip(parts, np.split(g, [4, 9])):
        p.grad = torch.tensor(chunk)
    norm_t = torch.nn.utils.clip_grad_norm_(parts, max_norm).item()
    expected = np.concatenate([p.grad.numpy() for p in parts])

    got = g.copy()
    norm = K.clip_grad_norm(got, max_norm)
    assert norm == pytest.approx(norm_t, rel=0, abs=1e-12)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    if ratio < 1:
        assert np.sqrt(np.sum(got**2)) == pytest.approx(max_norm, rel=1e-6)
    else:
        np.testing.assert_array_equal(got, g)


@pytest.mark.torch
def test_lstm_regressor_fit_matches_the_same_loop_in_torch():
    """3 full-batch epochs, Adam with other betas and epsilon, clipped gradients.

    tsrnn's LSTM has one bias per gate (b = bias_ih + bias_hh in torch's
    terms): torch's bias_hh is kept at zero and frozen, so that both train the
    same parameters.
    """
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20, 4, 2))
    y = rng.normal(size=(20, 2))
    lr, betas, eps, max_norm, epochs = 0.05, (0.8, 0.99), 1e-4, 0.05, 3

    rnn = torch.nn.LSTM(2, 3, batch_first=True, dtype=torch.float64)
    head = torch.nn.Linear(3, 2, dtype=torch.float64)
    with torch.no_grad():
        rnn.bias_hh_l0.zero_()
    rnn.bias_hh_l0.requires_grad_(False)
    state = {k: v.detach().numpy().copy() for k, v in rnn.state_dict().items()}
    state.update({"head." + k: v.detach().numpy().copy() for k, v in head.state_dict().items()})

    est = LSTMRegressor(
        hidden_size=3,
        dtype="float64",
        device="cpu",
        solver="adam",
        learning_rate_init=lr,
        beta_1=betas[0],
        beta_2=betas[1],
        epsilon=eps,
        clip_grad_norm=max_norm,
        shuffle=False,
        batch_size=20,
        max_iter=epochs,
        warm_start=True,
    ).import_weights(state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after 3 epochs
        est.fit(X, y)

    params = [p for p in list(rnn.parameters()) + list(head.parameters()) if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, betas=betas, eps=eps)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    losses, norms = [], []
    for _ in range(epochs):
        opt.zero_grad()
        _, (hn, _) = rnn(Xt)
        loss = torch.nn.functional.mse_loss(head(hn[-1]), yt)
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(params, max_norm).item())
        opt.step()
        losses.append(loss.item())
    assert min(norms) > max_norm  # the clipping acted at every step

    np.testing.assert_allclose(est.loss_curve_, losses, rtol=0, atol=1e-12)
    got = est.export_weights()
    expected = {k: v.detach().numpy() for k, v in rnn.state_dict().items()}
    expected.update({"head." + k: v.detach().numpy() for k, v in head.state_dict().items()})
    assert set(got) == set(expected)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-12, err_msg=name)
    assert not np.allclose(got["weight_hh_l0"], state["weight_hh_l0"])  # it trained


# --------------------------------------------------------------------------
# cells by hand (no torch): 1 input, 2 hidden units, x_1 = 1.0, x_2 = -0.5
# --------------------------------------------------------------------------


def sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a))


XS = [1.0, -0.5]
KEEP_CACHE = pytest.mark.parametrize(
    "keep_cache", [True, False], ids=["training_kernels", "inference_kernels"]
)


def _run(spec, theta, T, keep_cache):
    X = np.array(XS[:T], dtype=np.float64).reshape(1, T, 1)
    return net.forward(spec, theta, X, keep_cache=keep_cache)[0][0]


def _identity_head(P):
    P["head.weight"][...] = np.eye(2)  # out = h_T, both units visible
    P["head.bias"][...] = 0.0


@KEEP_CACHE
def test_elman_rnn_one_and_two_steps_by_hand(keep_cache):
    # h_t = tanh(W_ih x_t + b + W_hh h_{t-1}),  o = c + V h_T
    W_ih = [0.5, -1.0]
    W_hh = [[0.2, -0.4], [0.6, 0.3]]
    b = [0.1, -0.2]
    V, c = [0.5, -1.0], 0.1
    spec = net.NetworkSpec("rnn", 1, 2, n_outputs=1)
    theta = np.zeros(spec.n_params)
    P = net.unpack(spec, theta)
    P["weight_ih_l0"][:, 0] = W_ih
    P["weight_hh_l0"][...] = W_hh
    P["bias_l0"][...] = b
    P["head.weight"][0] = V
    P["head.bias"][0] = c

    # t=1 (h_0 = 0): a = (0.5*1 + 0.1, -1*1 - 0.2) = (0.6, -1.2)
    #   h_1 = (tanh 0.6, tanh -1.2) = (0.537049566998, -0.833654607012)
    h1 = [math.tanh(W_ih[j] * XS[0] + b[j]) for j in range(2)]
    assert h1 == pytest.approx([0.537049566998, -0.833654607012], abs=1e-12)
    # o = 0.1 + 0.5*0.537049566998 - 1*(-0.833654607012) = 1.202179390511
    o1 = c + V[0] * h1[0] + V[1] * h1[1]
    assert o1 == pytest.approx(1.202179390511, abs=1e-12)
    # t=2: a_1 = 0.5*(-0.5) + 0.1 + 0.2*h1_1 - 0.4*h1_2 = 0.290871756204
    #      a_2 = -1*(-0.5) - 0.2 + 0.6*h1_1 + 0.3*h1_2 = 0.372133358095
    #   h_2 = (tanh 0.290871756204, tanh 0.372133358095) = (0.282936979536, 0.355856328217)
    h2 = [
        math.tanh(W_ih[j] * XS[1] + b[j] + W_hh[j][0] * h1[0] + W_hh[j][1] * h1[1])
        for j in range(2)
    ]
    assert h2 == pytest.approx([0.282936979536, 0.355856328217], abs=1e-12)
    # o = 0.1 + 0.5*0.282936979536 - 0.355856328217 = -0.114387838449
    o2 = c + V[0] * h2[0] + V[1] * h2[1]
    assert o2 == pytest.approx(-0.114387838449, abs=1e-12)

    assert _run(spec, theta, 1, keep_cache) == pytest.approx([o1], rel=0, abs=1e-12)
    assert _run(spec, theta, 2, keep_cache) == pytest.approx([o2], rel=0, abs=1e-12)


# LSTM, gate order i, f, g, o (rows of W_ih, W_hh, b), two units per gate:
#   i_t = σ(W_i x + b_i + U_i h),  f_t = σ(W_f x + b_f + U_f h)
#   g_t = tanh(W_g x + b_g + U_g h),  o_t = σ(W_o x + b_o + U_o h)
#   c_t = f_t c_{t-1} + i_t g_t,  h_t = o_t tanh(c_t)
LSTM_W = {"i": [0.5, -0.5], "f": [0.3, 0.8], "g": [1.0, -0.7], "o": [0.2, 0.6]}
LSTM_U = {
    "i": [[0.1, -0.2], [0.4, 0.3]],
    "f": [[-0.3, 0.2], [0.5, -0.1]],
    "g": [[0.7, 0.0], [-0.4, 0.9]],
    "o": [[0.2, 0.2], [-0.6, 0.1]],
}
LSTM_B = {"i": [0.1, -0.1], "f": [0.5, 0.0], "g": [0.0, 0.2], "o": [-0.2, 0.3]}


def _lstm_by_hand(T):
    h, c = [0.0, 0.0], [0.0, 0.0]
    for x in XS[:T]:
        pre = {
            k: [
                LSTM_W[k][j] * x + LSTM_B[k][j] + LSTM_U[k][j][0] * h[0] + LSTM_U[k][j][1] * h[1]
                for j in range(2)
            ]
            for k in "ifgo"
        }
        i = [sigmoid(a) for a in pre["i"]]
        f = [sigmoid(a) for a in pre["f"]]
        g = [math.tanh(a) for a in pre["g"]]
        o = [sigmoid(a) for a in pre["o"]]
        c = [f[j] * c[j] + i[j] * g[j] for j in range(2)]
        h = [o[j] * math.tanh(c[j]) for j in range(2)]
    return h


@KEEP_CACHE
def test_lstm_one_and_two_steps_by_hand(keep_cache):
    spec = net.NetworkSpec("lstm", 1, 2, n_outputs=2)
    theta = np.zeros(spec.n_params)
    P = net.unpack(spec, theta)
    for q, k in enumerate("ifgo"):
        P["weight_ih_l0"][2 * q : 2 * q + 2, 0] = LSTM_W[k]
        P["weight_hh_l0"][2 * q : 2 * q + 2] = LSTM_U[k]
        P["bias_l0"][2 * q : 2 * q + 2] = LSTM_B[k]
    _identity_head(P)

    # t=1 (h_0 = c_0 = 0), x = 1:
    #   i: pre (0.6, -0.6)  -> σ = (0.645656306226, 0.354343693774)
    #   f: pre (0.8, 0.8)   -> σ = (0.689974481128, 0.689974481128)  (times c_0 = 0)
    #   g: pre (1.0, -0.5)  -> tanh = (0.761594155956, -0.462117157260)
    #   o: pre (0.0, 0.9)   -> σ = (0.5, 0.710949502625)
    #   c_1 = i*g = (0.491728069578, -0.163748300460)
    #   h_1 = o*tanh(c_1) = (0.227793451359, -0.115387298939)
    h1 = _lstm_by_hand(1)
    assert h1 == pytest.approx([0.227793451359, -0.115387298939], abs=1e-12)
    # t=2, x = -0.5, h_1 from above (U h_1 now matters, and f multiplies c_1 != 0):
    #   i: pre (-0.5*0.5 + 0.1 + 0.1*h1_1 - 0.2*h1_2, 0.25 - 0.1 + 0.4*h1_1 + 0.3*h1_2)
    #        = (-0.104143, 0.206501) -> σ = (0.473987707337, 0.551442622964)
    #   f: pre (0.258585, -0.274565)  -> σ = (0.564288299951, 0.431786851051)
    #   g: pre (-0.340545, 0.355034)  -> tanh = (-0.327963490140, 0.340832414853)
    #   o: pre (-0.277519, -0.148215) -> σ = (0.431062187446, 0.463013982965)
    #   c_2 = f*c_1 + i*g = (0.122025733638, 0.117245157817)
    #   h_2 = o*tanh(c_2) = (0.052341145760, 0.054038760833)
    h2 = _lstm_by_hand(2)
    assert h2 == pytest.approx([0.052341145760, 0.054038760833], abs=1e-12)

    np.testing.assert_allclose(_run(spec, theta, 1, keep_cache), h1, rtol=0, atol=1e-12)
    np.testing.assert_allclose(_run(spec, theta, 2, keep_cache), h2, rtol=0, atol=1e-12)


# GRU in PyTorch's reset-after form, gate order r, z, n, two biases:
#   r = σ(W_r x + b_ir + U_r h + b_hr),  z = σ(W_z x + b_iz + U_z h + b_hz)
#   n = tanh(W_n x + b_in + r (U_n h + b_hn)),  h' = (1 - z) n + z h
# b_hn != 0, so the reset gate matters even at t=1 (h_0 = 0).
GRU_W = {"r": [0.5, -0.5], "z": [0.3, 0.8], "n": [1.0, -0.7]}
GRU_U = {
    "r": [[0.1, -0.2], [0.4, 0.3]],
    "z": [[-0.3, 0.2], [0.5, -0.1]],
    "n": [[0.7, 0.0], [-0.4, 0.9]],
}
GRU_BI = {"r": [0.1, -0.1], "z": [0.5, 0.0], "n": [0.0, 0.2]}
GRU_BH = {"r": [0.05, 0.1], "z": [-0.2, 0.1], "n": [0.4, -0.3]}


def _gru_by_hand(T):
    h = [0.0, 0.0]
    for x in XS[:T]:

        def pre(k, j, h=h, x=x):
            return (
                GRU_W[k][j] * x
                + GRU_BI[k][j]
                + GRU_U[k][j][0] * h[0]
                + GRU_U[k][j][1] * h[1]
                + GRU_BH[k][j]
            )

        r = [sigmoid(pre("r", j)) for j in range(2)]
        z = [sigmoid(pre("z", j)) for j in range(2)]
        n = [
            math.tanh(
                GRU_W["n"][j] * x
                + GRU_BI["n"][j]
                + r[j] * (GRU_U["n"][j][0] * h[0] + GRU_U["n"][j][1] * h[1] + GRU_BH["n"][j])
            )
            for j in range(2)
        ]
        h = [(1.0 - z[j]) * n[j] + z[j] * h[j] for j in range(2)]
    return h


@KEEP_CACHE
def test_gru_one_and_two_steps_by_hand(keep_cache):
    spec = net.NetworkSpec("gru", 1, 2, n_outputs=2)
    theta = np.zeros(spec.n_params)
    P = net.unpack(spec, theta)
    for q, k in enumerate("rzn"):
        P["weight_ih_l0"][2 * q : 2 * q + 2, 0] = GRU_W[k]
        P["weight_hh_l0"][2 * q : 2 * q + 2] = GRU_U[k]
        P["bias_ih_l0"][2 * q : 2 * q + 2] = GRU_BI[k]
        P["bias_hh_l0"][2 * q : 2 * q + 2] = GRU_BH[k]
    _identity_head(P)

    # t=1 (h_0 = 0), x = 1:
    #   r: pre (0.5 + 0.1 + 0.05, -0.5 - 0.1 + 0.1) = (0.65, -0.5)
    #        -> σ = (0.657010462673, 0.377540668798)
    #   z: pre (0.3 + 0.5 - 0.2, 0.8 + 0.0 + 0.1) = (0.6, 0.9)
    #        -> σ = (0.645656306226, 0.710949502625)
    #   n: W_n x + b_in = (1.0, -0.5); U_n h + b_hn = b_hn = (0.4, -0.3)
    #        pre = (1.0 + 0.657010462673*0.4, -0.5 - 0.377540668798*0.3)
    #        -> tanh = (0.851835352492, -0.546419368694)
    #      (reset before U_n would give tanh(1.0 + 0.4), tanh(-0.5 - 0.3): other numbers)
    #   h_1 = (1 - z) n = (0.301842485290, -0.157942790296)
    h1 = _gru_by_hand(1)
    assert h1 == pytest.approx([0.301842485290, -0.157942790296], abs=1e-12)
    # t=2, x = -0.5:
    #   r: pre (-0.0382272, 0.323354) -> σ = (0.490444365271, 0.580141467720)
    #   z: pre (0.0278587, -0.133284) -> σ = (0.506964223679, 0.466728121398)
    #   n: W_n x + b_in = (-0.5, 0.55); U_n h_1 + b_hn = (0.611289739703, -0.562885505383)
    #        -> tanh(-0.5 + r_1*0.611.., 0.55 + r_2*(-0.562..)) = (-0.197564053690, 0.219800790238)
    #   h_2 = (1 - z) n + z h_1 = (0.055617194644, 0.043497238525)
    h2 = _gru_by_hand(2)
    assert h2 == pytest.approx([0.055617194644, 0.043497238525], abs=1e-12)

    np.testing.assert_allclose(_run(spec, theta, 1, keep_cache), h1, rtol=0, atol=1e-12)
    np.testing.assert_allclose(_run(spec, theta, 2, keep_cache), h2, rtol=0, atol=1e-12)
