"""The neuralforecast column of the scale benchmark (``bench_scale.py --library neuralforecast``).

neuralforecast's ``LSTM`` with the settings of tsrnn's default forecaster as far as its API
allows: one LSTM layer of 32 units on inputs of 24 steps, a direct 18-step head (its decoder MLP
at its smallest, one hidden layer of 32, where tsrnn's head is linear), no calendar features
(tsrnn adds two), MSE, Adam at lr 1e-3 (tsrnn's default 1e-2; neither time nor memory depends on
it), 32 windows a step (``batch_size=32`` series, ``windows_batch_size=32``; its own default is
128 windows), each window standardised (``scaler_type='standard'``), on the CPU with
``torch.set_num_threads(threads)``. "One epoch" is as many steps as there are training windows /
32 (neuralforecast samples its windows per step rather than sweeping them), capped by
``max_steps``: a capped row's µs/window is the fit time over the windows it did process (steps x
32), and its peak RSS is that of loading the whole panel and training on it. neuralforecast is
not a tsrnn dependency: run this in an environment that has it (``pip install neuralforecast``).
"""

from __future__ import annotations

import math
import time

HIDDEN, WINDOW, BATCH = 32, 24, 32


def run_size_nf(n_series, length, seed, threads, max_steps, bench):
    """One size with neuralforecast's LSTM: fit + predict, measured as ``bench.run_size``."""
    import importlib.util
    import logging
    import warnings

    missing = [m for m in ("neuralforecast", "torch") if importlib.util.find_spec(m) is None]
    if missing:  # a clear message, not the traceback of the first import that fails
        raise SystemExit(
            f"--library neuralforecast needs {' and '.join(missing)}, not installed here: "
            "pip install neuralforecast (which brings torch), in a separate environment"
        )
    import torch
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MSE
    from neuralforecast.models import LSTM

    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    torch.set_num_threads(threads)

    def model(steps):
        return LSTM(
            h=bench.HORIZON,
            input_size=WINDOW,
            encoder_n_layers=1,
            encoder_hidden_size=HIDDEN,
            decoder_hidden_size=HIDDEN,
            decoder_layers=1,
            loss=MSE(),
            learning_rate=1e-3,
            max_steps=steps,
            batch_size=BATCH,
            windows_batch_size=BATCH,
            scaler_type="standard",
            random_seed=seed,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()  # warm-up: imports, first graph, not timed
        NeuralForecast(models=[model(2)], freq="MS").fit(bench.make_panel(8, 60, seed=seed + 1))
        warm_s = time.perf_counter() - start
        rss_before_data = bench.peak_rss_bytes()
        df = bench.make_panel(n_series, length, seed)
        lengths = df.groupby("unique_id", sort=False).size().to_numpy()
        n_windows = bench.training_windows(lengths, WINDOW, bench.HORIZON)
        epoch_steps = math.ceil(n_windows / BATCH)
        steps = min(epoch_steps, max_steps) if max_steps else epoch_steps
        data_bytes = int(df.memory_usage(deep=True).sum())
        load_before = bench._env.loadavg()
        trimmed = bench.release_free_heap()
        rss_before_fit = bench._status_bytes("VmRSS")
        reset_ok = bench.reset_peak()
        start = time.perf_counter()
        nf = NeuralForecast(models=[model(steps)], freq="MS")
        nf.fit(df)
        fit_s = time.perf_counter() - start
        fit_peak = bench.peak_since_reset(reset_ok)
        start = time.perf_counter()
        forecast = nf.predict()
        predict_s = time.perf_counter() - start
    peak = max(fit_peak, bench.peak_since_reset(reset_ok))
    processed = steps * BATCH
    return {
        "library": "neuralforecast",
        "n_series": int(n_series),
        "length": int(length),
        "n_obs": int(lengths.sum()),
        "window": WINDOW,
        "n_windows": int(n_windows),
        "steps": int(steps),
        "epoch_steps": int(epoch_steps),
        "capped": steps < epoch_steps,
        "windows_processed": int(processed),
        "threads": int(torch.get_num_threads()),
        "warm_up_s": round(warm_s, 3),
        "fit_s": round(fit_s, 3),
        "us_per_window": round(1e6 * fit_s / processed, 3),
        "predict_s": round(predict_s, 3),
        "forecast_rows": int(len(forecast)),
        "data_bytes": data_bytes,
        "values_bytes": int(df["y"].to_numpy().nbytes),
        "peak_rss_before_data_bytes": rss_before_data,
        "peak_reset": bool(reset_ok),
        "heap_trimmed_before_fit": trimmed,
        "rss_before_fit_bytes": rss_before_fit,
        "fit_peak_rss_bytes": fit_peak,
        "peak_rss_bytes": peak,
        "process_peak_rss_bytes": bench.peak_rss_bytes(),
        "rss_minus_data_bytes": peak - data_bytes,
        "fit_growth_bytes": None if rss_before_fit is None else peak - rss_before_fit,
        "loadavg_before": load_before,
        "loadavg_after": bench._env.loadavg(),
        "versions": {"torch": torch.__version__, "neuralforecast": _version("neuralforecast")},
        "status": "ok",
    }


def _version(name):
    from importlib.metadata import version

    return version(name)
