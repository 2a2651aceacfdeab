"""The tsrnn command on real files: safety of what it writes, model files, real-world CSVs.

Issue 12 (CLI safety, ``tsrnn fit --save`` / ``tsrnn predict --model``) and issue 13 (CSV
dialects, years, panels without --id-col, covariates, errors naming flags). The CSV fixtures in
tests/data/cli are small hand-made files (see the comments on each test).
"""

import io
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _signals import sigint_default

import tsrnn.cli
from tsrnn.cli import _flags, _load, build_parser, main
from tsrnn.forecasting import RNNForecaster

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "cli"
FAST = ["--hidden-size", "4", "--max-iter", "2"]


def _copy(tmp_path, name):
    dst = tmp_path / name
    shutil.copy(DATA / name, dst)
    return dst


def _err_line(capsys):
    """The command's stderr, asserted to be one ``tsrnn: error:`` line without a traceback."""
    err = capsys.readouterr().err
    # the fit's own lines: what it fits, its progress bars, the compile notice on a cold cache
    progress = re.compile(r"^(Fitting |tsrnn: compiling kernels|[\w ]+: +\d+%\|)")
    err = "".join(line for line in err.splitlines(True) if not progress.match(line))
    assert err.startswith("tsrnn: error: "), err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def no_fit(monkeypatch):
    """Any fit is a test failure: the command must stop before training."""

    def fit(self, *args, **kwargs):
        raise AssertionError("the forecaster was fitted")

    monkeypatch.setattr(RNNForecaster, "fit", fit)


# --------------------------------------------------------------------------------------------
# files the command writes are checked before any work (issue 12, acceptance 6)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["same", "relative", "symlink"])
def test_output_equal_to_input_is_refused_and_the_data_kept(
    tmp_path, monkeypatch, capsys, no_fit, spelling
):
    # before: `tsrnn forecast x.csv --output x.csv` replaced the data with 13 lines of forecasts
    src = _copy(tmp_path, "years_float.csv")
    before = src.read_bytes()
    monkeypatch.chdir(tmp_path)
    out = {
        "same": str(src),
        "relative": "./sub/../years_float.csv",
        "symlink": str(tmp_path / "link.csv"),
    }[spelling]
    (tmp_path / "sub").mkdir()
    if spelling == "symlink":
        os.symlink(src, out)
    assert main(["forecast", str(src), "--horizon", "3", "--output", out, *FAST]) == 2
    err = _err_line(capsys)
    assert "--output" in err and "is the input file" in err
    assert src.read_bytes() == before


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--output", "{tmp}/missing/fc.csv"], "the folder"),
        (["--output", "{tmp}"], "is a folder"),
        (["--output", "{tmp}/out/"], "is a folder"),
        (["--plot", "{tmp}/fc.gif"], "unknown image type '.gif'"),
        (["--plot", "{tmp}/fc"], "unknown image type"),
        (["--plot", "{tmp}/missing/fc.png"], "does not exist"),
        (["--output", "{tmp}/a.png", "--plot", "{tmp}/a.png"], "are the same file"),
    ],
)
def test_bad_output_and_plot_paths_fail_before_the_fit(tmp_path, capsys, no_fit, extra, message):
    # before: a raw traceback after the whole fit
    (tmp_path / "out").mkdir()
    extra = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    start = time.perf_counter()
    code = main(["forecast", str(DATA / "years_float.csv"), "--horizon", "3", *extra, *FAST])
    assert code == 2
    assert time.perf_counter() - start < 5
    err = _err_line(capsys)
    assert message in err and extra[0] in err
    assert not (tmp_path / "a.csv").exists()


def test_save_path_and_predict_output_are_checked_first(tmp_path, capsys, no_fit):
    src = _copy(tmp_path, "years_float.csv")
    assert main(["fit", str(src), "--horizon", "3", "--save", str(src)]) == 2
    assert "--save" in _err_line(capsys)
    assert main(["fit", str(src), "--horizon", "3", "--save", str(tmp_path / "no" / "m")]) == 2
    assert "does not exist" in _err_line(capsys)
    model = tmp_path / "m.tsrnn"
    model.write_bytes(b"not a model")
    assert main(["predict", "--model", str(model), "--output", str(model)]) == 2
    assert "is the input file (--model)" in _err_line(capsys)
    assert model.read_bytes() == b"not a model"


def test_long_values_are_cut_in_error_messages(tmp_path, capsys):
    # before: a 10 MB field was echoed whole
    huge = "x" * 10_000_000
    (tmp_path / "big.csv").write_text(f"ds,y\n2020-01-01,{huge}\n2020-01-02,1\n")
    assert main(["forecast", str(tmp_path / "big.csv"), "--horizon", "1"]) == 2
    err = _err_line(capsys)
    assert "non-numeric values" in err and "(row 2)" in err and len(err) < 400
    assert main(["forecast", "--dataset", "macrodata", "--target", huge, "--horizon", "1"]) == 2
    assert len(_err_line(capsys)) < 400
    with pytest.raises(SystemExit) as exc:  # argparse's own errors are one short line too
        main(["forecast", "--dataset", "nile", "--horizon", "3", "--cell", huge])
    assert exc.value.code == 2
    err = _err_line(capsys)
    assert "invalid choice" in err and len(err) < 400


def test_unreadable_and_folder_inputs_are_one_line(tmp_path, capsys, monkeypatch):
    # before: raw tracebacks (IsADirectoryError, PermissionError, UnicodeDecodeError)
    assert main(["forecast", str(tmp_path), "--horizon", "3"]) == 2
    assert "is a folder, not a file" in _err_line(capsys)
    (tmp_path / "bin.csv").write_bytes(b"ds,y\n\xff\xfe\x00\x81,1\n")
    assert main(["forecast", str(tmp_path / "bin.csv"), "--horizon", "3"]) == 2
    assert "cannot read" in _err_line(capsys)
    locked = _copy(tmp_path, "years_float.csv")

    def denied(*args, **kwargs):  # what reading a chmod 000 file gives (tests may run as root)
        raise PermissionError(13, "Permission denied", str(locked))

    monkeypatch.setattr(pd, "read_csv", denied)
    assert main(["forecast", str(locked), "--horizon", "3"]) == 2
    assert "Permission denied" in _err_line(capsys)


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_one_line(tmp_path, capsys):
    locked = _copy(tmp_path, "years_float.csv")
    locked.chmod(0)
    assert main(["forecast", str(locked), "--horizon", "3"]) == 2
    assert "permission denied" in _err_line(capsys)


def _read_until(stream, text, timeout):
    """Lines of ``stream`` until one holds ``text`` (or the timeout)."""
    seen, deadline = "", time.monotonic() + timeout
    while text not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.5)
        if ready:
            line = stream.readline()
            if not line:
                break
            seen += line
    return seen


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_ctrl_c_during_the_fit_exits_130_with_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tsrnn",
            "forecast",
            "--dataset",
            "air_passengers",
            "--horizon",
            "12",
            "--n-models",
            "50",
            "--output",
            "fc.csv",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default,
    )
    try:
        seen = _read_until(proc.stderr, "Fitting LSTM", timeout=120)
        assert "Fitting LSTM" in seen, seen
        time.sleep(1.0)  # well inside the fit of 50 networks
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    lines = (seen + err).strip().splitlines()
    assert lines[-1] == "tsrnn: interrupted (Ctrl-C); no file written"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert not (tmp_path / "fc.csv").exists() and os.listdir(tmp_path) == []


def test_ctrl_c_in_process_exits_130_and_writes_nothing(tmp_path, monkeypatch, capsys):
    def fit(self, y, X=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(RNNForecaster, "fit", fit)
    code = main(
        [
            "forecast",
            str(DATA / "years_float.csv"),
            "--horizon",
            "3",
            "--output",
            str(tmp_path / "fc.csv"),
        ]
    )
    assert code == 130
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "tsrnn: interrupted (Ctrl-C); no file written"
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------------------------
# model files: tsrnn fit --save, tsrnn predict --model (issue 12)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [["--dataset", "nile"], [str(DATA / "panel.csv")]])
def test_fit_save_then_predict_equals_forecast(tmp_path, data, capsys):
    common = [*data, "--horizon", "3", "--seed", "7", *FAST]
    level = ["--level", "80", "95", "--quiet"]
    assert main(["forecast", *common, *level, "--output", str(tmp_path / "fc.csv")]) == 0
    assert main(["fit", *common, "--save", str(tmp_path / "m.tsrnn")]) == 0
    fit_out = capsys.readouterr().out
    assert "Model saved to" in fit_out
    # the fit prints the forecaster's summary (window, network, epochs, held-out scores)
    from tsrnn import load

    assert load(tmp_path / "m.tsrnn").summary() in fit_out
    assert (
        main(
            [
                "predict",
                "--model",
                str(tmp_path / "m.tsrnn"),
                *level,
                "--output",
                str(tmp_path / "pr.csv"),
                "--plot",
                str(tmp_path / "pr.png"),
            ]
        )
        == 0
    )
    one_shot, predicted = (tmp_path / "fc.csv").read_text(), (tmp_path / "pr.csv").read_text()
    assert predicted == one_shot  # same columns, timestamps and every digit
    assert (tmp_path / "pr.png").read_bytes().startswith(b"\x89PNG")
    header = one_shot.splitlines()[0].split(",")
    assert header[-5:] == ["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]


def test_predict_options_and_history(tmp_path, capsys):
    assert (
        main(
            [
                "fit",
                str(DATA / "dayfirst.csv"),
                "--horizon",
                "7",
                *FAST,
                "--save",
                str(tmp_path / "m.tsrnn"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "predict",
                "--model",
                str(tmp_path / "m.tsrnn"),
                "--horizon",
                "2",
                "--output",
                str(tmp_path / "fc.csv"),
            ]
        )
        == 0
    )
    fc = pd.read_csv(tmp_path / "fc.csv")
    assert list(fc.columns) == ["date", "yhat"]
    assert fc["date"].tolist() == ["2024-02-12", "2024-02-13"]  # after 11/02/2024, day-first
    from tsrnn.persistence import load

    history = tsrnn.cli._history(load(tmp_path / "m.tsrnn"))
    raw = pd.read_csv(DATA / "dayfirst.csv")
    np.testing.assert_array_equal(history.to_numpy(), raw["sales"].to_numpy())
    assert str(history.index[0].date()) == "2024-01-01" and len(history) == 42


def test_predict_errors_are_one_line(tmp_path, capsys):
    assert main(["predict", "--model", str(tmp_path / "none.tsrnn")]) == 2
    assert "file not found" in _err_line(capsys)
    assert main(["predict", "--model", str(DATA / "panel.csv")]) == 2
    assert "not a tsrnn model file" in _err_line(capsys)
    assert main(["predict", "--model", str(ROOT / "tests" / "data" / "lstm_regressor.tsrnn")]) == 2
    assert "holds a LSTMRegressor, not a forecaster" in _err_line(capsys)
    from tsrnn.persistence import save

    save(RNNForecaster(), tmp_path / "unfitted.tsrnn")
    assert main(["predict", "--model", str(tmp_path / "unfitted.tsrnn")]) == 2
    assert "unfitted RNNForecaster" in _err_line(capsys)


def test_write_failure_is_one_line_and_leaves_no_file(tmp_path, capsys, monkeypatch):
    assert (
        main(
            [
                "fit",
                "--dataset",
                "nile",
                "--horizon",
                "2",
                *FAST,
                "--save",
                str(tmp_path / "m.tsrnn"),
            ]
        )
        == 0
    )
    capsys.readouterr()

    def full(self, path, **kwargs):
        Path(path).write_text("half")
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    assert (
        main(
            [
                "predict",
                "--model",
                str(tmp_path / "m.tsrnn"),
                "--quiet",
                "--output",
                str(tmp_path / "fc.csv"),
            ]
        )
        == 2
    )
    assert "No space left on device" in _err_line(capsys)
    assert sorted(os.listdir(tmp_path)) == ["m.tsrnn"]  # no half-written or temporary file


# --------------------------------------------------------------------------------------------
# real CSV files (issue 13, acceptance 6)
# --------------------------------------------------------------------------------------------


def _data(*argv):
    return _load(build_parser().parse_args(["forecast", *argv, "--horizon", "1"]))


def test_float_years_are_years(tmp_path):
    # years_float.csv: 'time' 1700.0 ... 1729.0, as R's write.csv writes a yearly ts.
    # before: nanosecond timestamps from 1970 and exit code 0
    data = _data(str(DATA / "years_float.csv"))
    assert isinstance(data.y.index, pd.PeriodIndex) and data.y.index.freqstr.startswith("Y")
    assert data.y.index[0].year == 1700 and data.y.index[-1].year == 1729
    assert (
        main(
            [
                "forecast",
                str(DATA / "years_float.csv"),
                "--horizon",
                "3",
                *FAST,
                "--quiet",
                "--output",
                str(tmp_path / "fc.csv"),
            ]
        )
        == 0
    )
    fc = pd.read_csv(tmp_path / "fc.csv")
    assert list(fc.columns) == ["time", "yhat"] and fc["time"].tolist() == [1730, 1731, 1732]


def test_r_write_csv_of_a_monthly_and_a_quarterly_ts(tmp_path):
    # R: write.csv(data.frame(time = time(x), value = x)): row names in an unnamed first
    # column, times 1949, 1949.0833... (monthly) or 1960, 1960.25 (quarterly)
    rows = "".join(f'"{i + 1}",{1949 + i / 12!r},{100 + i}\n' for i in range(30))
    (tmp_path / "monthly.csv").write_text('"","time","value"\n' + rows)
    data = _data(str(tmp_path / "monthly.csv"))
    assert data.y.name == "value" and data.y.index.freqstr.startswith("M")
    assert str(data.y.index[0]) == "1949-01" and str(data.y.index[13]) == "1950-02"
    rows = "".join(f"{1960 + i / 4},{i}\n" for i in range(12))
    (tmp_path / "quarterly.csv").write_text("time,value\n" + rows)
    data = _data(str(tmp_path / "quarterly.csv"))
    assert [str(p) for p in data.y.index[:5]] == ["1960Q1", "1960Q2", "1960Q3", "1960Q4", "1961Q1"]


def test_encodings(tmp_path, capsys):
    text = "Jahr;Menge\n" + "".join(f"{2000 + i};{i},5\n" for i in range(12))
    (tmp_path / "bom.csv").write_bytes(text.encode("utf-8-sig"))  # as Excel saves UTF-8
    data = _data(str(tmp_path / "bom.csv"))
    assert data.time_name == "Jahr" and data.y.iloc[1] == 1.5
    latin = text.replace("Menge", "Größe")
    (tmp_path / "latin.csv").write_bytes(latin.encode("latin-1"))
    assert main(["forecast", str(tmp_path / "latin.csv"), "--horizon", "1"]) == 2
    assert "--encoding" in _err_line(capsys)
    data = _data(str(tmp_path / "latin.csv"), "--encoding", "latin-1")
    assert data.y.name == "Größe" and data.y.iloc[1] == 1.5


def test_whole_numbers_outside_years_are_steps_and_fractions_an_error(tmp_path, capsys):
    steps = _data(str(DATA / "sales_promo.csv"), "--target", "y")
    assert steps.y.index.tolist() == list(range(40))
    (tmp_path / "half.csv").write_text("t,y\n1.5,1\n2.5,2\n3.5,3\n")
    assert main(["forecast", str(tmp_path / "half.csv"), "--horizon", "1"]) == 2
    err = _err_line(capsys)
    assert "whole numbers" in err and "--date-format" in err


def test_semicolon_file_with_decimal_commas(tmp_path, capsys):
    # semicolon_decimal_comma.csv: a spreadsheet export, 'Datum;Umsatz', 01.01.2024;100,0
    flagged = _data(
        str(DATA / "semicolon_decimal_comma.csv"), "--sep", ";", "--decimal", ",", "--dayfirst"
    )
    assert flagged.y.name == "Umsatz" and flagged.time_name == "Datum"
    assert flagged.y.iloc[:2].tolist() == [100.0, 108.32]
    assert flagged.y.index[1] == pd.Timestamp("2024-01-02") and len(flagged.y) == 42
    guessed = _data(str(DATA / "semicolon_decimal_comma.csv"))  # the same without flags
    pd.testing.assert_series_equal(guessed.y, flagged.y)
    # a decimal mark the file does not use: the error names the flag
    assert (
        main(
            [
                "forecast",
                str(DATA / "semicolon_decimal_comma.csv"),
                "--sep",
                ";",
                "--decimal",
                ".",
                "--horizon",
                "2",
            ]
        )
        == 2
    )
    assert "pass --decimal ," in _err_line(capsys)
    assert (
        main(
            ["forecast", str(DATA / "semicolon_decimal_comma.csv"), "--sep", ",", "--horizon", "2"]
        )
        == 2
    )
    assert "--sep ';'" in _err_line(capsys)
    assert (
        main(
            [
                "forecast",
                str(DATA / "semicolon_decimal_comma.csv"),
                "--horizon",
                "7",
                *FAST,
                "--quiet",
                "--output",
                str(tmp_path / "fc.csv"),
            ]
        )
        == 0
    )
    # written back in the file's own format (see test_output_in_the_input_format)
    fc = pd.read_csv(tmp_path / "fc.csv", sep=";", decimal=",")
    assert fc["Datum"].iloc[0] == "2024-02-12" and fc["yhat"].dtype == np.float64


def _forecast_text(tmp_path, name, *argv):
    """Run 'tsrnn forecast' on a fixture with the tiny network; the --output file's text."""
    out = tmp_path / "fc.csv"
    argv = ["forecast", str(DATA / name), "--horizon", "3", *FAST, "--quiet", *argv]
    assert main([*argv, "--output", str(out)]) == 0
    return out.read_text()


def test_output_in_the_input_format(tmp_path):
    # Before: the forecast of a ';' file with decimal commas came back as a ',' file with
    # decimal points, whatever the input. Now it comes back in the format it came in.
    name = "semicolon_decimal_comma.csv"  # Datum;Umsatz, 01.01.2024;100,0, ... daily
    same = _forecast_text(tmp_path, name)
    lines = same.splitlines()
    assert lines[0] == "Datum;yhat" and len(lines) == 4
    day, value = lines[1].split(";")
    assert day == "2024-02-12"  # ISO dates by default: unambiguous whatever the input's
    assert re.fullmatch(r"-?\d+,\d+", value), value
    # the same numbers as the standard format asks for (the same fit: same random_state)
    plain = _forecast_text(tmp_path, name, "--output-sep", ",")  # decimal gives way to '.'
    assert plain.splitlines()[0] == "Datum,yhat"
    a = pd.read_csv(io.StringIO(same), sep=";", decimal=",")
    b = pd.read_csv(io.StringIO(plain))
    pd.testing.assert_frame_equal(a, b)
    # every option at once: tab, decimal comma, day-first dates
    tab = _forecast_text(
        tmp_path,
        name,
        "--output-sep",
        "\\t",
        "--output-decimal",
        ",",
        "--output-date-format",
        "%d.%m.%Y",
    )
    first = tab.splitlines()[1].split("\t")
    assert first[0] == "12.02.2024" and first[1] == value
    # a ',' file is written as before
    assert _forecast_text(tmp_path, "dayfirst.csv", "--dayfirst").splitlines()[0].count(",") == 1


def test_tab_file_with_decimal_commas(tmp_path):
    # tab_decimal_comma.csv: 'Filiale<TAB>Datum<TAB>Umsatz', two stores, 01.01.2024;100,00 ...
    # (a spreadsheet's tab-delimited export). Before: decimal commas were recognised only in
    # ';' files, and this one needed --decimal ,
    data = _data(str(DATA / "tab_decimal_comma.csv"), "--id-col", "Filiale", "--dayfirst")
    assert data.id_name == "Filiale" and data.dialect == ("\t", ",", "utf-8")
    first = data.y[data.y["unique_id"] == "Nord"]["y"].iloc[:2].tolist()
    assert first == [100.0, 102.84]
    text = _forecast_text(tmp_path, "tab_decimal_comma.csv", "--id-col", "Filiale", "--dayfirst")
    lines = text.splitlines()
    assert lines[0] == "Filiale\tDatum\tyhat" and len(lines) == 1 + 2 * 3
    assert re.fullmatch(r"Nord\t2024-01-31\t-?\d+,\d+", lines[1]), lines[1]


@pytest.mark.parametrize(
    "options, message",
    [
        (["--sep", ";;"], "--sep must be one character ('\\t' for tab), got ';;'"),
        (["--sep", ""], "--sep must be one character"),
        (["--sep", "."], "--sep '.' is also the decimal mark: give the file's decimal mark"),
        (["--sep", ";", "--decimal", ";"], "--sep ';' is also the decimal mark"),
        (["--sep", "1"], "--sep '1' is part of how numbers are written"),
        (["--decimal", "-"], "--decimal '-' is part of how numbers are written"),
    ],
)
def test_unusable_separator_or_decimal_mark_is_a_one_line_error(capsys, no_fit, options, message):
    # before: '--sep ;;' came back as pandas' "Falling back to the 'python' engine ..." and an
    # empty --sep as the default separator's 'one column only' error
    argv = ["forecast", str(DATA / "semicolon_decimal_comma.csv"), *options, "--horizon", "2"]
    assert main(argv) == 2
    assert message in _err_line(capsys)


def test_output_in_the_input_encoding(tmp_path, capsys):
    # a Latin-1 file (an older spreadsheet's export) with a store named 'Süd': its forecast
    # came back as UTF-8, which such a spreadsheet shows as 'SÃ¼d'
    text = (DATA / "tab_decimal_comma.csv").read_text(encoding="utf-8")
    src = tmp_path / "latin1.csv"
    src.write_bytes(text.encode("latin-1"))
    out, model = tmp_path / "fc.csv", tmp_path / "m.tsrnn"
    common = [str(src), "--id-col", "Filiale", "--dayfirst", "--encoding", "latin-1"]
    common += ["--horizon", "2", *FAST, "--quiet"]
    assert main(["forecast", *common, "--output", str(out)]) == 0
    raw = out.read_bytes()
    assert b"\nS\xfcd\t" in raw and "Süd".encode() not in raw
    assert main(["fit", *common, "--save", str(model)]) == 0
    out.unlink()
    assert main(["predict", "--model", str(model), "--quiet", "--output", str(out)]) == 0
    assert out.read_bytes() == raw  # the fitted file's encoding, the same forecast
    # what the encoding cannot hold is a one-line error, and no file
    argv = ["forecast", str(DATA / "dayfirst.csv"), "--encoding", "ascii", "--horizon", "2"]
    fmt = ["--output-date-format", "%d.%m.%Y ±"]
    assert main([*argv, *FAST, "--quiet", "--output", str(tmp_path / "a.csv"), *fmt]) == 2
    assert "that ascii cannot encode" in _err_line(capsys)
    assert not (tmp_path / "a.csv").exists() and list(tmp_path.glob(".a.csv*")) == []
    # which --output-encoding names another, the same forecast in it (read back as UTF-8)
    out.unlink()
    argv = ["forecast", *common, "--output", str(out), "--output-encoding", "utf-8"]
    assert main(argv) == 0
    assert out.read_bytes() == raw.decode("latin-1").encode("utf-8")
    assert "Süd".encode() in out.read_bytes()


def test_output_keeps_the_byte_order_mark(tmp_path):
    # a spreadsheet's "CSV UTF-8" export starts with the byte-order mark, which the
    # spreadsheet needs to read the forecast back as UTF-8 (else 'Süd' shows as 'SÃ¼d')
    text = (DATA / "tab_decimal_comma.csv").read_text(encoding="utf-8")
    for bom in (b"\xef\xbb\xbf", b""):
        src = tmp_path / "in.csv"
        src.write_bytes(bom + text.encode("utf-8"))
        out = tmp_path / "fc.csv"
        argv = [str(src), "--id-col", "Filiale", "--dayfirst", "--horizon", "2", *FAST]
        assert main(["forecast", *argv, "--quiet", "--output", str(out)]) == 0
        raw = out.read_bytes()
        assert raw.startswith(bom + b"Filiale\tDatum\tyhat\n") and "Süd".encode() in raw


def test_predict_writes_the_fitted_files_format(tmp_path):
    model = tmp_path / "m.tsrnn"
    name = str(DATA / "semicolon_decimal_comma.csv")
    assert main(["fit", name, "--horizon", "3", *FAST, "--quiet", "--save", str(model)]) == 0
    out = tmp_path / "fc.csv"
    assert main(["predict", "--model", str(model), "--quiet", "--output", str(out)]) == 0
    assert out.read_text().splitlines()[0] == "Datum;yhat"
    assert "," in out.read_text().splitlines()[1].split(";")[1]
    args = ["--output-sep", ",", "--output-date-format", "%Y%m%d"]
    assert main(["predict", "--model", str(model), "--quiet", "--output", str(out), *args]) == 0
    assert out.read_text().splitlines()[1].startswith("20240212,")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--output-sep", "."], "--output-sep '.' would be read as part of the numbers"),
        (["--output-sep", ";;"], "--output-sep must be one character"),
        (["--output-decimal", "1"], "--output-decimal '1' would be read as part"),
        (["--output-decimal", ";"], "--output-decimal and --output-sep are both ';'"),
        (["--output-sep", "|", "--output-decimal", "|"], "are both '|'"),
        (["--output-date-format", "day"], "has no % directive"),
        (["--output-encoding", "utf-9"], "--output-encoding 'utf-9' is not a known encoding"),
    ],
)
def test_output_format_errors_stop_before_the_fit(no_fit, tmp_path, capsys, argv, message):
    name = str(DATA / "semicolon_decimal_comma.csv")
    out = str(tmp_path / "fc.csv")
    assert main(["forecast", name, "--horizon", "2", "--output", out, *argv]) == 2
    assert message in _err_line(capsys)
    assert not os.path.exists(out)


def test_output_format_without_output_is_an_error(no_fit, capsys):
    name = str(DATA / "semicolon_decimal_comma.csv")
    for command in (["forecast", name], ["backtest", name]):
        assert main([*command, "--horizon", "2", "--output-decimal", "."]) == 2
        assert "--output-decimal only applies to the --output file" in _err_line(capsys)
        assert main([*command, "--horizon", "2", "--output-encoding", "utf-8"]) == 2
        assert "--output-encoding only applies to the --output file" in _err_line(capsys)


def test_day_first_dates(capsys):
    # dayfirst.csv: 01/01/2024 ... 11/02/2024 daily; 13/01/2024 settles the order
    data = _data(str(DATA / "dayfirst.csv"))
    assert data.y.index[12] == pd.Timestamp("2024-01-13") and data.y.index.is_monotonic_increasing
    same = _data(str(DATA / "dayfirst.csv"), "--dayfirst")
    assert same.y.index.equals(data.y.index)
    fmt = _data(str(DATA / "dayfirst.csv"), "--date-format", "%d/%m/%Y")
    assert fmt.y.index.equals(data.y.index)
    # ambiguous_dates.csv: 01/01/2023, 01/02/2023, ... the first of every month, or 12 days?
    assert main(["forecast", str(DATA / "ambiguous_dates.csv"), "--horizon", "1"]) == 2
    err = _err_line(capsys)
    assert "ambiguous" in err and "--dayfirst" in err and "--date-format" in err
    monthly = _data(str(DATA / "ambiguous_dates.csv"), "--dayfirst")
    assert monthly.y.index[1] == pd.Timestamp("2023-02-01")
    days = _data(str(DATA / "ambiguous_dates.csv"), "--date-format", "%m/%d/%Y")
    assert days.y.index[1] == pd.Timestamp("2023-01-02")
    assert (
        main(
            ["forecast", str(DATA / "dayfirst.csv"), "--date-format", "%Y-%m-%d", "--horizon", "1"]
        )
        == 2
    )
    assert "--date-format '%Y-%m-%d' does not match" in _err_line(capsys)


def test_dates_with_one_evenly_spaced_reading_and_thousands_separators(tmp_path, capsys):
    # a German spreadsheet's export: the first of each month over 2.5 years, written
    # 01.02.2020 (day first: only that reading is evenly spaced; month first would be
    # January 1st-12th of each year), amounts as 1.234,5. Before: "ambiguous" dates, then
    # "holds non-numeric values, e.g. '1.234,5'"
    months = pd.date_range("2020-01-01", periods=30, freq="MS")
    amounts = [1234.5, 999.25, 1034567.0] + [1000.0 + 37.5 * k for k in range(27)]

    def german(x):
        whole, cents = f"{x:,.2f}".split(".")
        return f"{whole.replace(',', '.')},{cents}"

    lines = ["Datum;Umsatz"] + [f"{m:%d.%m.%Y};{german(x)}" for m, x in zip(months, amounts)]
    (tmp_path / "umsatz.csv").write_text("\n".join(lines) + "\n")
    assert lines[1:4] == ["01.01.2020;1.234,50", "01.02.2020;999,25", "01.03.2020;1.034.567,00"]
    data = _data(str(tmp_path / "umsatz.csv"))
    assert data.y.index.equals(pd.DatetimeIndex(months, name="Datum"))
    assert data.y.tolist() == amounts
    assert data.dialect[:2] == (";", ",")
    # an English one: "1,234.50" quoted in a comma-separated file; the dates 2020-01-01 ...
    english = pd.DataFrame(
        {"date": months.strftime("%Y-%m-%d"), "sales": [f"{x:,.2f}" for x in amounts]}
    )
    english.to_csv(tmp_path / "sales.csv", index=False)
    assert '"1,234.50"' in (tmp_path / "sales.csv").read_text()
    data = _data(str(tmp_path / "sales.csv"))
    assert data.y.tolist() == amounts and data.dialect[:2] == (",", ".")
    # a column that is not all numbers keeps its text (the error names the value)
    english.loc[4, "sales"] = "1,234.5.6"
    english.to_csv(tmp_path / "bad.csv", index=False)
    assert main(["forecast", str(tmp_path / "bad.csv"), "--horizon", "1"]) == 2
    assert "'1,234.5.6' (row 6)" in _err_line(capsys)


def test_unflagged_unique_id_panel(tmp_path, capsys):
    # panel.csv: unique_id,ds,y with two series, 'north' and 'south'.
    # before: "duplicated timestamps" unless --id-col was given
    data = _data(str(DATA / "panel.csv"))
    assert data.id_name == "unique_id"
    assert data.y.groupby("unique_id").size().to_dict() == {"north": 40, "south": 40}
    assert (
        main(
            [
                "forecast",
                str(DATA / "panel.csv"),
                "--horizon",
                "2",
                *FAST,
                "--quiet",
                "--output",
                str(tmp_path / "fc.csv"),
            ]
        )
        == 0
    )
    assert "series identified by column 'unique_id'" in capsys.readouterr().err
    fc = pd.read_csv(tmp_path / "fc.csv")
    assert list(fc.columns) == ["unique_id", "ds", "yhat"]
    assert fc.groupby("unique_id")["ds"].apply(list).to_dict() == {
        "north": [2040, 2041],
        "south": [2040, 2041],
    }
    # an 'id' column, time in a 'date' column: found the same way
    frame = pd.read_csv(DATA / "panel.csv").rename(columns={"unique_id": "ID", "ds": "date"})
    frame = frame[["date", "ID", "y"]]
    frame.to_csv(tmp_path / "id.csv", index=False)
    other = _data(str(tmp_path / "id.csv"))
    assert other.id_name == "ID" and other.time_name == "date"
    # repeated timestamps and no id column: the error names --id-col and the likely column
    frame.rename(columns={"ID": "shop"}).to_csv(tmp_path / "shop.csv", index=False)
    assert main(["forecast", str(tmp_path / "shop.csv"), "--horizon", "2"]) == 2
    assert "--id-col shop" in _err_line(capsys)


def test_rows_in_any_order_are_read_in_time_order(tmp_path):
    # a file's rows newest first, or a panel's rows interleaved and shuffled: before, the
    # forecaster's "timestamps are not sorted ... df.sort_values" for a command-line user
    frame = pd.read_csv(DATA / "panel.csv")
    frame["visits"] = np.arange(len(frame), dtype=float)
    shuffled = frame.sample(frac=1.0, random_state=3)
    assert shuffled["unique_id"].iloc[0] == "south"  # the series' order is that of the file
    shuffled.to_csv(tmp_path / "shuffled.csv", index=False)
    # the same rows sorted, the series in the same order (a global model's batches follow it)
    south_first = pd.concat(
        [frame[frame["unique_id"] == "south"], frame[frame["unique_id"] == "north"]]
    )
    south_first.to_csv(tmp_path / "sorted.csv", index=False)
    data = _data(str(tmp_path / "shuffled.csv"), "--past-covariates", "visits")
    for uid, first in (("south", 0), ("north", 1)):
        rows = data.y[data.y["unique_id"] == uid]
        expected = frame[frame["unique_id"] == uid]
        assert rows["ds"].astype(str).tolist() == expected["ds"].astype(str).tolist()
        assert rows["y"].tolist() == expected["y"].tolist()
        assert (data.y["unique_id"].drop_duplicates().tolist()[first]) == uid
        covs = data.X[data.X["unique_id"] == uid]["visits"]
        assert covs.tolist() == expected["visits"].tolist()
    argv = ["--horizon", "2", *FAST, "--quiet", "--output"]
    assert main(["forecast", str(tmp_path / "sorted.csv"), *argv, str(tmp_path / "a.csv")]) == 0
    assert main(["forecast", str(tmp_path / "shuffled.csv"), *argv, str(tmp_path / "b.csv")]) == 0
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    order = ["unique_id", "ds"]
    pd.testing.assert_frame_equal(
        a.sort_values(order, ignore_index=True), b.sort_values(order, ignore_index=True)
    )
    # one series, newest first
    one = frame[frame["unique_id"] == "north"][["ds", "y"]]
    one.iloc[::-1].to_csv(tmp_path / "newest_first.csv", index=False)
    data = _data(str(tmp_path / "newest_first.csv"))
    assert data.y.index.astype(str).tolist() == one["ds"].astype(str).tolist()
    assert data.y.tolist() == one["y"].tolist()


def test_timestamps_across_a_daylight_saving_change_are_read_in_utc(tmp_path, capsys):
    # local times written with their offsets, +01:00 then +02:00 after 2024-03-31 02:00:
    # before, "cannot read the time column ... give the layout with --date-format"
    stamps = pd.date_range("2024-03-30", periods=72, freq="h", tz="Europe/Berlin")
    assert stamps[0].utcoffset() != stamps[-1].utcoffset()
    frame = pd.DataFrame({"ts": stamps.astype(str), "load": 5.0 + np.sin(np.arange(72) / 4.0)})
    frame.to_csv(tmp_path / "dst.csv", index=False)
    argv = ["forecast", str(tmp_path / "dst.csv"), "--horizon", "2", *FAST, "--quiet"]
    assert main([*argv, "--output", str(tmp_path / "fc.csv")]) == 0
    err = capsys.readouterr().err
    assert "several UTC offsets" in err and "read as UTC" in err
    fc = pd.read_csv(tmp_path / "fc.csv")
    last = stamps[-1].tz_convert("UTC")
    expected = [str(last + pd.Timedelta(hours=k)) for k in (1, 2)]
    assert fc["ts"].tolist() == expected  # the hour after the data's last, in UTC
    # one offset throughout: kept, no warning
    frame["ts"] = pd.date_range("2024-05-01", periods=72, freq="h", tz="Europe/Berlin").astype(str)
    frame.to_csv(tmp_path / "summer.csv", index=False)
    argv[1] = str(tmp_path / "summer.csv")
    assert main([*argv, "--output", str(tmp_path / "fc2.csv")]) == 0
    assert "UTC" not in capsys.readouterr().err
    assert pd.read_csv(tmp_path / "fc2.csv")["ts"].iloc[0] == "2024-05-04 00:00:00+02:00"


def test_covariates_reach_the_forecaster(tmp_path):
    # sales_promo.csv: ds 0..39, y and 'visits' (observed up to the origin);
    # future_price.csv: ds 0..43 and 'price' (known ahead, 4 steps beyond the data)
    argv = [
        str(DATA / "sales_promo.csv"),
        "--past-covariates",
        "visits",
        "--future-covariates",
        str(DATA / "future_price.csv"),
    ]
    data = _data(*argv)
    assert data.past == ["visits"] and list(data.X.columns) == ["visits", "price"]
    assert data.X.loc[5].tolist() == [207.0, 9.99]
    assert data.X_future.index[-1] == 43 and list(data.X_future.columns) == ["price"]
    model = tmp_path / "m.tsrnn"
    assert main(["fit", *argv, "--horizon", "4", *FAST, "--save", str(model)]) == 0
    from tsrnn.persistence import load

    fitted = load(model)
    assert fitted.past_covariates_ == ["visits"] and fitted.future_covariates_ == ["price"]
    # predict needs the future covariates again, and says so with the flag
    assert main(["predict", "--model", str(model)]) == 2
    assert (
        main(
            [
                "predict",
                "--model",
                str(model),
                "--future-covariates",
                str(DATA / "future_price.csv"),
                "--output",
                str(tmp_path / "fc.csv"),
            ]
        )
        == 0
    )
    assert pd.read_csv(tmp_path / "fc.csv")["ds"].tolist() == [40, 41, 42, 43]


def test_covariate_errors_name_the_flag(capsys):
    assert (
        main(
            [
                "forecast",
                str(DATA / "sales_promo.csv"),
                "--past-covariates",
                "promo",
                "--horizon",
                "2",
            ]
        )
        == 2
    )
    assert "--past-covariates: 'promo' is not a column" in _err_line(capsys)
    assert (
        main(
            [
                "forecast",
                str(DATA / "sales_promo.csv"),
                "--horizon",
                "6",
                *FAST,
                "--future-covariates",
                str(DATA / "future_price.csv"),
            ]
        )
        == 2
    )
    err = _err_line(capsys)
    assert "--future-covariates" in err and "44, 45" in err


def test_errors_name_cli_flags_not_python_parameters(tmp_path, capsys):
    # before: "pass fill_method='ffill'" and "pass freq=" for a command-line user
    (tmp_path / "gap.csv").write_text(
        "ds,y\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 29) if d != 9)
    )
    assert main(["forecast", str(tmp_path / "gap.csv"), "--horizon", "2", "--freq", "D"]) == 2
    err = _err_line(capsys)
    assert "--fill-method ffill" in err and "fill_method" not in err
    assert main(["forecast", str(tmp_path / "gap.csv"), "--horizon", "2"]) == 2
    err = _err_line(capsys)
    assert "--freq" in err and "freq=" not in err
    neg = "ds,y\n" + "".join(f"{i},{i - 5}\n" for i in range(30))
    (tmp_path / "neg.csv").write_text(neg)
    assert main(["forecast", str(tmp_path / "neg.csv"), "--horizon", "2", "--log", "yes"]) == 2
    assert "--log no" in _err_line(capsys)


@pytest.mark.parametrize(
    "message, expected",
    [
        (
            "fill them, or pass fill_method='ffill', 'interpolate' or 'zero'",
            "fill them, or pass --fill-method ffill, interpolate or zero",
        ),
        (
            "pass freq= (e.g. freq='D' or 'MS') and, for gaps, fill_method=",
            "pass --freq (e.g. --freq D or MS) and, for gaps, --fill-method",
        ),
        (
            "fewer than window + horizon = 24 + 12 = 36; use a shorter window",
            "fewer than --window + --horizon = 24 + 12 = 36; use a shorter --window",
        ),
        ("3 value(s) <= 0; set log=False", "3 value(s) <= 0; set --log no"),
        (
            "left out of every fold (give a smaller initial, or forecast them with a simpler",
            "left out of every fold (give a smaller --initial, or forecast them with a simpler",
        ),
        (
            "forecast by the baseline named instead (see series_models_); the window",
            "forecast by the baseline named instead (listed in the summary of tsrnn fit); "
            "the window",
        ),
        ("h=30 exceeds horizon=12", "--horizon 30 exceeds the model's horizon 12"),
        (
            "early stopping (window=24, horizon=12); use a shorter window, or set "
            "early_stopping=False and validation_fraction=0",
            "early stopping (--window 24, --horizon 12); use a shorter --window, or set "
            "--no-early-stopping and --validation-fraction 0",
        ),
        ("Lower learning_rate_init, keep", "Lower --learning-rate, keep"),
        (
            "X_future does not cover 2 timestamp(s)",
            "the --future-covariates data does not cover 2 timestamp(s)",
        ),
        ("series 'window': 10 windows", "series 'window': 10 windows"),  # words stay words
        ("series 'X': X has columns ['a']", "series 'X': the covariate data has columns ['a']"),
    ],
)
def test_flag_translation(message, expected):
    assert _flags(message) == expected
