"""Progress of long fits (tsrnn._progress): the bar, the epoch logs, the cold-cache notice.

The bar's text is checked against values worked out by hand from a fake clock; the
forecaster, backtest and CLI tests check totals that follow from their settings.
"""

import copy
import io
import re
import threading
import types

import numpy as np
import pandas as pd
import pytest

from tsrnn import _kernels, _progress
from tsrnn._progress import ProgressBar, StageProgress, format_interval
from tsrnn.cli import main
from tsrnn.forecasting import RNNForecaster, SeasonalNaiveForecaster
from tsrnn.model_selection import backtest, evaluate

TINY = dict(hidden_size=2, max_iter=3, random_state=0)


class FakeClock:
    def __init__(self, t=0.0):
        self.t = t

    def __call__(self):
        return self.t


class Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self._tty = tty

    def isatty(self):
        return self._tty


def _series(n=40):
    t = np.arange(n, dtype=float)
    return pd.Series(10 + 0.1 * t + np.sin(2 * np.pi * t / 4), name="y")


# --------------------------------------------------------------------------------------------
# the bar
# --------------------------------------------------------------------------------------------


def test_format_elapsed_remaining_and_rate_from_a_fake_clock():
    clock = FakeClock()
    bar = ProgressBar(20, "fit lstm", "epoch", file=Stream(False), clock=clock)
    clock.t = 12.0
    bar.n = 9
    # 45 %: 36 eighths of 10 cells = 4 full cells and a half one; 0.75 epoch/s is shown as
    # seconds per epoch; 11 epochs left at 0.75/s = 14.7 s
    assert bar.format() == "fit lstm:  45%|████▌     | 9/20 epochs [00:12<00:14, 1.33s/epoch]"
    clock.t = 10.0
    bar.total, bar.n = 100, 30
    # 3 epoch/s; 70 left: 23.3 s
    assert bar.format() == "fit lstm:  30%|███       | 30/100 epochs [00:10<00:23, 3.00 epoch/s]"
    bar.n = 0
    assert bar.format() == "fit lstm:   0%|          | 0/100 epochs [00:10<?, ? epoch/s]"
    assert format_interval(3725) == "1:02:05" and format_interval(59.9) == "00:59"


def test_remaining_time_is_measured_from_the_first_update():
    clock, stream = FakeClock(), Stream(False)
    bar = ProgressBar(200, "fit lstm", "epoch", file=stream, clock=clock)
    clock.t = 18.0  # the first epoch, with a cold kernel cache
    bar.update()
    assert bar.format() == "fit lstm:   0%|          | 1/200 epochs [00:18<?, 18.00s/epoch]"
    clock.t = 18.5  # then 0.1 s per epoch: 5 more in 0.5 s, 194 left take 19.4 s
    bar.update(5)
    assert bar.format() == "fit lstm:   3%|▎         | 6/200 epochs [00:18<00:19, 10.00 epoch/s]"
    bar.close()


def test_not_a_terminal_a_plain_line_every_interval_and_a_final_line():
    clock, stream = FakeClock(), Stream(False)
    bar = ProgressBar(25, "backtest", "fold", file=stream, clock=clock, plain_interval=10)
    for k in range(25):
        clock.t = k + 1.0
        bar.update()
    bar.close()
    lines = stream.getvalue().split("\n")
    assert "\r" not in stream.getvalue() and lines[-1] == ""
    # at t = 10 and t = 20, then the final line
    assert [line.split("|")[2].split(" [")[0] for line in lines[:-1]] == [
        " 10/25 folds",
        " 20/25 folds",
        " 25/25 folds",
    ]
    assert lines[-2] == "backtest: 100%|██████████| 25/25 folds [00:25<00:00, 1.00 fold/s]"


def test_terminal_redraws_in_place_throttled():
    clock, stream = FakeClock(), Stream(True)
    bar = ProgressBar(100, "fit", "epoch", file=stream, clock=clock, interval=0.1)
    for k in range(100):
        clock.t = 0.01 * (k + 1)
        bar.update()
    text = stream.getvalue()
    assert "\n" not in text  # one line, redrawn
    # the first draw, then at most one per 0.1 s over 1 s (and the last step)
    assert 3 <= text.count("\r") <= 13
    bar.close()
    text = stream.getvalue()
    assert text.endswith("100/100 epochs [00:01<00:00, 100.00 epoch/s]\n")
    assert text.count("\n") == 1


def test_write_puts_a_line_above_a_terminal_bar():
    clock, stream = FakeClock(), Stream(True)
    bar = ProgressBar(4, "fit", "epoch", file=stream, clock=clock)
    bar.write("hello")
    line = "fit:   0%|          | 0/4 epochs [00:00<?, ? epoch/s]"
    # drawn; the line written over it (padded to its length); drawn again below
    assert stream.getvalue() == f"\r{line}\rhello{' ' * (len(line) - 5)}\n\r{line}"
    bar.close()


def test_updates_from_many_threads_are_all_counted_and_totals_shrink():
    stream = Stream(False)
    bar = ProgressBar(8 * 600, "fit", "epoch", file=stream)
    start = threading.Barrier(8)

    def member():
        start.wait()
        for _ in range(500):
            bar.update()
        bar.add_total(-100)  # stopped 100 epochs before its budget

    threads = [threading.Thread(target=member) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bar.close()
    assert (bar.n, bar.total) == (4000, 4000)
    assert stream.getvalue().splitlines()[-1].startswith("fit: 100%|██████████| 4000/4000 epochs")


@pytest.mark.parametrize(
    "error, status", [(ValueError, "failed"), (KeyboardInterrupt, "interrupted")]
)
def test_the_bar_closes_with_a_final_line_on_errors(error, status):
    clock, stream = FakeClock(), Stream(False)
    with pytest.raises(error):
        with ProgressBar(10, "fit", "epoch", file=stream, clock=clock) as bar:
            bar.update(3)
            clock.t = 2.0
            raise error()
    assert bar.closed
    # 3 epochs in 2 s: 1.5 epoch/s; one update so far, so no remaining time yet (the first
    # update's time may be the kernels' compilation)
    line = "fit:  30%|███       | 3/10 epochs [00:02<?, 1.50 epoch/s]"
    assert stream.getvalue() == f"{line} {status}\n"
    bar.update()  # after closing: nothing more is written
    assert stream.getvalue().count("\n") == 1


def test_stage_progress_shrinks_its_total_when_a_member_stops_early():
    stream = Stream(False)
    with StageProgress("fit lstm", [5, 5], 1, file=stream) as stage:
        for k, n_epochs in enumerate((5, 2)):
            with stage.member(k):
                observer = _progress.epoch_observer()
                for e in range(n_epochs):
                    observer.epoch(e + 1, 1.0, None, 0.0)
                observer.done(n_epochs, "no_change" if n_epochs < 5 else "max_iter")
        assert _progress.epoch_observer() is None
    assert stream.getvalue().splitlines()[-1].startswith("fit lstm: 100%|██████████| 7/7 epochs")


@pytest.mark.parametrize("verbose", [1, 2])
def test_stage_progress_is_silent_after_it_closed(verbose):
    """Members abandoned by Ctrl-C finish in the background: nothing after the stage ends."""
    stream = Stream(False)
    with pytest.raises(KeyboardInterrupt):
        with StageProgress("fit lstm", [5, 5], verbose, file=stream) as stage:
            member = stage.member(1)
            member.__enter__()
            raise KeyboardInterrupt
    written = stream.getvalue()
    assert written.endswith("interrupted\n") if verbose == 1 else written == "tsrnn: fit lstm\n"
    observer = _progress.epoch_observer()
    observer.epoch(1, 1.0, None, 0.0)
    observer.done(1, "max_iter")
    member.__exit__(None, None, None)
    assert stream.getvalue() == written


# --------------------------------------------------------------------------------------------
# the forecaster, backtest and CLI
# --------------------------------------------------------------------------------------------


def test_forecaster_verbose_1_shows_one_bar_per_stage_with_the_totals(capsys):
    f = RNNForecaster(horizon=3, n_models=2, n_iter_no_change=50, verbose=1, **TINY)
    f.fit(_series())
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    # stage 1: 2 members x 3 epochs (patience 50 never stops them)
    # one bar: off a terminal it may print a plain line every 10 s on a slow machine, then
    # its final line
    fit = [line for line in lines if line.startswith("fit lstm: ")]
    assert fit[-1].startswith("fit lstm: 100%|██████████| 6/6 epochs [")
    assert all("/6 epochs [" in line for line in fit)
    # stage 2: every member runs its best stage-1 epoch count
    n2 = sum(f.best_epochs_)
    refit = [line for line in lines if line.startswith("refit lstm on all windows: ")]
    assert refit and f"| {n2}/{n2} epochs [" in refit[-1] and "100%" in refit[-1]


def test_forecaster_bar_total_follows_early_stopping(capsys):
    f = RNNForecaster(
        horizon=3,
        hidden_size=2,
        max_iter=40,
        n_iter_no_change=1,
        tol=10.0,
        refit_full=False,
        verbose=True,
    )
    f.fit(_series())
    err = capsys.readouterr().err
    # the first epoch improves on -inf, the second cannot gain 10 in R²: stop after 2 of 40
    assert len(f.loss_curve_) == 2
    assert "fit lstm: 100%|██████████| 2/2 epochs [" in err


def test_forecaster_verbose_2_logs_each_epoch_under_a_stage_header(capsys):
    f = RNNForecaster(horizon=3, n_iter_no_change=50, verbose=2, **TINY).fit(_series())
    out, err = capsys.readouterr()
    assert out == "" and "%|" not in err
    assert err.count("tsrnn: stage 1/2, fit lstm: 1 network, up to 3 epochs") == 1
    assert err.count("tsrnn: stage 2/2, refit lstm on all windows") == 1
    stage1, stage2 = err.split("tsrnn: stage 2/2")
    epochs1 = re.findall(r"^  epoch (\d+): loss [\d.]+, validation score -?[\d.]+, ", stage1, re.M)
    assert epochs1 == ["1", "2", "3"]
    epochs2 = re.findall(r"^  epoch (\d+): loss [\d.]+, [\d.]+s$", stage2, re.M)
    assert epochs2 == [str(k) for k in range(1, f.best_epochs_[0] + 1)]


def test_forecaster_verbose_2_prefixes_the_member_when_several(capsys):
    RNNForecaster(
        horizon=3, n_models=2, refit_full=False, n_iter_no_change=50, verbose=2, **TINY
    ).fit(_series())
    err = capsys.readouterr().err
    assert err.count("tsrnn: stage 1/1, fit lstm: 2 members, up to 3 epochs") == 1
    lines = [x for x in err.splitlines() if "epoch " in x and "loss" in x]
    assert sorted(x.split(",")[0] for x in lines) == ["  member 1/2"] * 3 + ["  member 2/2"] * 3


def test_forecaster_verbose_0_prints_nothing(capsys):
    RNNForecaster(horizon=3, verbose=0, **TINY).fit(_series())
    assert capsys.readouterr() == ("", "")


def test_forecaster_verbose_accepts_0_1_2_and_bools_only():
    for v in (0, 1, 2, True, False):
        RNNForecaster(verbose=v)._validate_params()
    for v in (3, -1, "yes"):
        with pytest.raises(ValueError, match="verbose must be an int in the range"):
            RNNForecaster(verbose=v)._validate_params()


def test_backtest_bar_over_folds(capsys):
    y = _series(48)
    res = backtest(SeasonalNaiveForecaster(season_length=4), y, 24, 6, 6, verbose=1)
    assert res["cutoff"].nunique() == 4
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("backtest: 100%|██████████| 4/4 folds [")
    # refit=False: one fit, the bar still counts every fold
    evaluate(SeasonalNaiveForecaster(season_length=4), y, 24, 6, 6, refit=False, verbose=1)
    assert "backtest: 100%|██████████| 4/4 folds [" in capsys.readouterr().err
    backtest(SeasonalNaiveForecaster(season_length=4), y, 24, 6, 6)
    assert capsys.readouterr().err == ""


def test_backtest_verbose_silences_the_forecasters_own_bar(capsys):
    f = RNNForecaster(horizon=3, verbose=1, **TINY)
    backtest(f, _series(), 34, 3, 3, verbose=1)
    err = capsys.readouterr().err
    assert "fit lstm" not in err and "backtest: 100%|██████████| 2/2 folds [" in err
    assert f.verbose == 1  # the user's forecaster is not modified


FAST = ["--dataset", "air_passengers", "--horizon", "3", "--hidden-size", "2", "--max-iter", "2"]


def test_cli_shows_the_bar_on_stderr_only(capsys):
    assert main(["forecast", *FAST]) == 0
    out, err = capsys.readouterr()
    assert "fit lstm: 100%|██████████| 2/2 epochs [" in err
    assert "refit lstm on all windows: 100%|" in err
    assert "%|" not in out and "epoch 1" not in out
    assert main(["forecast", *FAST, "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "%|" not in err and "epoch" not in err and "compiling" not in err
    assert "%|" not in out


def test_cli_verbose_gives_the_epoch_log_and_backtest_a_bar_over_folds(tmp_path, capsys):
    assert main(["fit", *FAST, "--verbose", "--save", str(tmp_path / "m.tsrnn")]) == 0
    out, err = capsys.readouterr()
    assert "tsrnn: stage 1/2, fit lstm" in err and "  epoch 2: loss " in err
    assert "epoch 1: loss" not in out
    assert main(["backtest", *FAST, "--initial", "138"]) == 0
    out, err = capsys.readouterr()
    assert "backtest: 100%|██████████| 2/2 folds [" in err and "%|" not in out
    assert main(["backtest", *FAST, "--initial", "138", "--quiet"]) == 0
    assert "%|" not in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# the cold-cache notice
# --------------------------------------------------------------------------------------------


def _fake_kernels(monkeypatch, folder):
    """Point the lstm training kernels at index files in ``folder``; nothing compiled."""
    names = ("lstm_forward", "lstm_backward", "lstm_infer", *_progress._SHARED_KERNELS)
    files = []
    for name in names:
        real = getattr(_kernels, name)._cache._cache_file
        fake = copy.copy(real)
        fake._cache_path = str(folder)
        fake._index_path = str(folder / f"{name}.nbi")
        files.append(fake)
        dispatcher = types.SimpleNamespace(
            overloads={}, _cache=types.SimpleNamespace(_cache_file=fake)
        )
        monkeypatch.setattr(_kernels, name, dispatcher)
    return files


def test_cold_cache_detected_from_the_index_files(tmp_path, monkeypatch):
    files = _fake_kernels(monkeypatch, tmp_path)
    assert _progress.kernels_cold("lstm", "float32")  # an empty folder
    sig32 = "(Array(float32, 3, 'C', False, aligned=True),)"
    for f in files[:-1]:
        f._save_index({(sig32, ("magic",)): "x.0.nbc"})
    assert _progress.kernels_cold("lstm", "float32")  # one index still missing
    files[-1]._save_index({(sig32, ("magic",)): "x.0.nbc"})
    assert not _progress.kernels_cold("lstm", "float32")  # all there, for this source
    assert _progress.kernels_cold("lstm", "float64")  # no float64 entry
    stale, stamp = files[0], files[0]._source_stamp
    stale._source_stamp = ("_kernels.py", 0.0, 0)  # written for an older source file
    stale._save_index({(sig32, ("magic",)): "x.0.nbc"})
    stale._source_stamp = stamp
    assert _progress.kernels_cold("lstm", "float32")


def test_compile_notice_once_per_process_and_silent_at_verbose_0(monkeypatch, caplog):
    monkeypatch.setattr(_progress, "_noticed", [])
    monkeypatch.setattr(_progress, "kernels_cold", lambda cell, dtype: True)
    stream = Stream(False)
    with caplog.at_level("INFO", logger="tsrnn"):
        assert _progress.compile_notice("lstm", show=False, file=stream)
    assert stream.getvalue() == "" and "compiling kernels (first run only" in caplog.text
    monkeypatch.setattr(_progress, "_noticed", [])
    assert _progress.compile_notice("lstm", file=stream)
    assert not _progress.compile_notice("lstm", file=stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tsrnn: compiling kernels (first run only; ")
    monkeypatch.setattr(_progress, "_noticed", [])
    monkeypatch.setattr(_progress, "kernels_cold", lambda cell, dtype: False)
    assert not _progress.compile_notice("lstm", file=stream)
