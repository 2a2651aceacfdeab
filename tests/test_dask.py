"""Backtests on a Dask cluster give exactly the local results (joblib's dask backend)."""

import joblib
import pandas as pd
import pytest

distributed = pytest.importorskip("dask.distributed")

from tsrnn.datasets import load_air_passengers  # noqa: E402
from tsrnn.forecasting import RNNForecaster  # noqa: E402
from tsrnn.model_selection import ExpandingWindowSplitter, backtest, evaluate  # noqa: E402

FAST = dict(hidden_size=4, max_iter=4, n_iter_no_change=4, random_state=0)


def _has_tsrnn():
    import sys

    return "tsrnn.forecasting" in sys.modules


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


def test_backtest_identical_with_one_job_two_jobs_and_dask(client):
    y = load_air_passengers().iloc[:108]
    forecaster = RNNForecaster(horizon=6, **FAST)
    kwargs = dict(initial=84, step=6, horizon=6, level=[80])
    one = backtest(forecaster, y, n_jobs=1, **kwargs)
    two = backtest(forecaster, y, n_jobs=2, **kwargs)
    with joblib.parallel_config(backend="dask"):
        on_dask = backtest(forecaster, y, n_jobs=2, **kwargs)
    assert len(one) == 4 * 6
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    pd.testing.assert_frame_equal(one, on_dask, check_exact=True)
    # the folds really ran in the cluster's worker processes, which had to import tsrnn
    imported = client.run(_has_tsrnn)
    assert len(imported) == 2 and any(imported.values())


def test_evaluate_and_splitter_on_dask(client):
    y = load_air_passengers().iloc[:108]
    cv = ExpandingWindowSplitter(initial=90, step=6, horizon=6)
    local = evaluate(RNNForecaster(horizon=6, **FAST), y, cv=cv)
    with joblib.parallel_config(backend="dask"):
        remote = evaluate(RNNForecaster(horizon=6, **FAST), y, cv=cv, n_jobs=-1)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    assert local.n_folds.iloc[0] == 3
