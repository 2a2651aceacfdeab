"""The READMEs' code runs: README.md's Python blocks, experiments/README.md's commands.

The Python blocks of README.md build on each other (the backtest example uses the series
loaded in the forecasting example), so they run in order in one fresh interpreter, in an
empty folder, with a non-interactive matplotlib backend.  The bash block holds the two
set-up commands; ``.ci/run`` must run them verbatim, in order, in one venv.

Every command of the ``bash`` blocks of experiments/README.md (backslash continuations
joined, ``#`` comments dropped, quoting as the shell reads it): its script exists, and the
script's own argument parser (``build_parser()`` or ``parse_args(argv)``, the script
imported by path) accepts the exact documented arguments, so a misspelt or removed flag
fails here.  The cheap documented commands also run end to end in a subprocess, with their
output files redirected to ``tmp_path``: ``_env.py``, ``gradient_flow.py --quick`` (about
10 s), ``bench_cli_startup.py --runs 1`` (about 15 s) and the ``--help`` commands.  The long
runs (full benchmarks, m3_monthly.py and bench_forecaster.py, which also need the
``experiments`` extra, bench_gpu.py, which needs a GPU) are parse-checked only.
"""

import importlib.util
import json
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXPERIMENTS = ROOT / "experiments"
EXPERIMENTS_README = EXPERIMENTS / "README.md"


def _blocks(text, lang):
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def test_every_readme_python_block_runs(tmp_path):
    blocks = _blocks(README.read_text(encoding="utf-8"), "python")
    assert len(blocks) >= 3, "the README lost its examples"
    # After the blocks, report what they left behind so the parent can check it.
    report = (
        "\nimport json as _json\n"
        "_out = {'pred_columns': list(pred.columns), 'pred_len': len(pred),\n"
        "        'pred_finite': bool(pred.notna().all().all()),\n"
        "        'backtest_rows': len(res), 'shape': list(model.predict(X[:3]).shape),\n"
        "        'state_keys': sorted(state)[:3]}\n"
        "print('README-RESULT ' + _json.dumps(_out))\n"
    )
    script = tmp_path / "readme_blocks.py"
    script.write_text("\n".join(blocks) + report, encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [s for s in proc.stdout.splitlines() if s.startswith("README-RESULT ")][-1]
    out = json.loads(line[len("README-RESULT ") :])
    # the forecasting example: 12 dated forecasts with 80 % and 95 % intervals
    assert out["pred_len"] == 12 and out["pred_finite"]
    for col in ("yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"):
        assert col in out["pred_columns"]
    # the backtest example: 4 folds of 12 months (initial 96 of 144, step 12)
    assert out["backtest_rows"] == 48
    # the estimator example's stated shape
    assert out["shape"] == [3, 12]
    assert out["state_keys"] == ["bias_hh_l0", "bias_ih_l0", "head.bias"]


def test_ci_runs_the_readme_setup_commands_in_order():
    (block,) = _blocks(README.read_text(encoding="utf-8"), "bash")
    commands = [s.strip() for s in block.splitlines() if s.strip() and not s.startswith("#")]
    assert len(commands) == 2, commands
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    positions = [ci.index(c) for c in commands]  # verbatim lines, ValueError if missing
    assert positions == sorted(positions), "CI must run the set-up commands in README order"
    # one venv: no second 'venv' between the two commands
    between = ci[positions[0] : positions[1]]
    creates_env = re.compile(r"-m venv|virtualenv|conda create|deactivate|/bin/activate")
    assert not any(creates_env.search(s) for s in between if not s.lstrip().startswith("#"))


# --------------------------------------------------------------------------------------------
# experiments/README.md
# --------------------------------------------------------------------------------------------


def _experiment_commands():
    """The command lines of the bash blocks of experiments/README.md, as argv lists."""
    commands = []
    for block in _blocks(EXPERIMENTS_README.read_text(encoding="utf-8"), "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            if argv:
                commands.append(argv)
    return commands


def _script_and_args(argv):
    """(script path relative to the root, its arguments) of one documented command."""
    if argv[:2] == ["tsrnn", "bench"]:  # runs experiments/bench_speed.py of the clone
        return "experiments/bench_speed.py", argv[2:]
    if argv[0] in ("python", "bash") and len(argv) > 1:
        return argv[1], argv[2:]
    raise AssertionError(f"unrecognised command in experiments/README.md: {shlex.join(argv)}")


COMMANDS = _experiment_commands()


def _load(script):
    """An experiments script as a module (it imports _env.py from its folder)."""
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        name = "_readme_" + Path(script).stem
        spec = importlib.util.spec_from_file_location(name, ROOT / script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXPERIMENTS))


def _parse(module, args):
    """The script's own parsing (with its checks) of ``args``; SystemExit when it rejects them."""
    if hasattr(module, "parse_args"):
        return module.parse_args(args)
    return module.build_parser().parse_args(args)


def _parser(module):
    if hasattr(module, "build_parser"):
        return module.build_parser()
    # parse_args(argv) builds its parser inside: catch the parser it builds
    import argparse

    caught = []
    real = argparse.ArgumentParser.parse_args

    def spy(self, *a, **k):
        caught.append(self)
        return real(self, *a, **k)

    argparse.ArgumentParser.parse_args = spy
    try:
        module.parse_args([])
    finally:
        argparse.ArgumentParser.parse_args = real
    return caught[0]


def _documented(script, *flags):
    """The arguments of the documented command of ``script`` that has all of ``flags``."""
    for argv in COMMANDS:
        path, args = _script_and_args(argv)
        if argv[0] == "python" and path == script and all(f in args for f in flags):
            return args
    raise AssertionError(f"experiments/README.md documents no '{script} {' '.join(flags)}'")


def _run(args, timeout=300):
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_experiments_readme_documents_every_script():
    assert len(COMMANDS) >= 15, "experiments/README.md lost its commands"
    documented = {_script_and_args(argv)[0] for argv in COMMANDS}
    scripts = {
        f"experiments/{p.name}"
        for p in EXPERIMENTS.iterdir()
        if p.suffix in (".py", ".sh") and not p.name.startswith("_")
    } | {"experiments/_env.py"}
    assert scripts <= documented, sorted(scripts - documented)


@pytest.mark.parametrize("argv", COMMANDS, ids=[shlex.join(a) for a in COMMANDS])
def test_experiments_readme_command_parses(argv, capsys):
    script, args = _script_and_args(argv)
    assert (ROOT / script).is_file(), f"{script} does not exist"
    if script.endswith(".sh"):
        proc = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert all(a.isdigit() for a in args), args  # gpu_check.sh [TOTAL_SECONDS]
        return
    module = _load(script)
    if "--help" in args or "-h" in args:
        with pytest.raises(SystemExit) as exc:
            _parse(module, args)
        assert exc.value.code in (0, None)
        assert "usage:" in capsys.readouterr().out
        return
    try:
        parsed = _parse(module, args)
    except SystemExit as exc:
        pytest.fail(f"{shlex.join(argv)}: rejected ({exc.code}): {capsys.readouterr().err}")
    assert parsed is not None


@pytest.mark.parametrize(
    "script",
    sorted({_script_and_args(a)[0] for a in COMMANDS if a[0] != "bash"}),
)
def test_experiments_parse_check_can_fail(script, capsys):
    """The check above is not vacuous: every parser rejects a flag that does not exist."""
    module = _load(script)
    with pytest.raises(SystemExit) as exc:
        _parse(module, ["--no-such-flag"])
    assert exc.value.code == 2
    assert "--no-such-flag" in capsys.readouterr().err


def test_experiments_readme_flags_exist():
    """Every ``--flag`` in the prose of a script's section is an option of that script."""
    text = EXPERIMENTS_README.read_text(encoding="utf-8")
    checked = 0
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        heading = section.splitlines()[0]
        scripts = re.findall(r"`(\w+\.py)`", heading)
        if not scripts:
            continue
        prose = re.sub(r"^```.*?^```", "", section, flags=re.S | re.M)
        flags = set(re.findall(r"`(--[\w-]+)", prose))
        options = _parser(_load(f"experiments/{scripts[0]}"))._option_string_actions
        assert flags <= set(options), (scripts[0], sorted(flags - set(options)))
        checked += len(flags)
    assert checked >= 15  # the option list of bench_speed.py among them


def test_experiments_env_runs():
    args = _documented("experiments/_env.py")
    assert args == []
    info = json.loads(_run(["experiments/_env.py"]))
    for key in ("date", "cpu_model", "cpu_count", "versions", "git"):
        assert key in info
    assert info["versions"]["python"].startswith(f"{sys.version_info[0]}.{sys.version_info[1]}")


def test_experiments_help_commands_run():
    assert _documented("experiments/bench_speed.py", "--help") == ["--help"]
    assert ["tsrnn", "bench", "--help"] in COMMANDS
    direct = _run(["experiments/bench_speed.py", "--help"])
    via_cli = _run(["-m", "tsrnn", "bench", "--help"])
    assert via_cli == direct  # `tsrnn bench ARGS` is the clone's script with ARGS
    for flag in ("--quick", "--cells", "--full-memory", "--skip", "--json"):
        assert flag in direct


def test_gradient_flow_quick_runs(tmp_path):
    args = _documented("experiments/gradient_flow.py", "--quick")
    assert args == ["--quick"]
    out = _run(["experiments/gradient_flow.py", *args, "--out", str(tmp_path)])
    for ext in ("png", "md", "json"):
        path = tmp_path / f"gradient_flow_quick.{ext}"
        assert path.stat().st_size > 0
        assert str(path) in out
    result = json.loads((tmp_path / "gradient_flow_quick.json").read_text())
    assert result["command"] == "python experiments/gradient_flow.py --quick"
    # --quick: T = 20, one seed, the three cells
    assert [(r["cell"], r["seed"]) for r in result["results"]] == [
        ("rnn", 0),
        ("lstm", 0),
        ("gru", 0),
    ]
    for r in result["results"]:
        for key in ("grad_norms_init", "grad_norms_trained"):
            assert len(r[key]) == 20
            assert all(math.isfinite(v) and v >= 0 for v in r[key])
        assert math.isfinite(r["test_mse"])


def test_bench_cli_startup_smoke_runs(tmp_path):
    args = _documented("experiments/bench_cli_startup.py", "--runs")
    assert args[args.index("--runs") + 1] == "1"
    out_json = tmp_path / "startup.json"
    args[args.index("--json") + 1] = str(out_json)  # the documented flags, output in tmp_path
    out = _run(["experiments/bench_cli_startup.py", *args])
    assert f"results written to {out_json}" in out
    result = json.loads(out_json.read_text())
    assert result["runs"] == 1
    labels = [r["command"] for r in result["rows"]]
    assert labels == [
        "python (bare interpreter)",
        "python -m tsrnn --version",
        "python -m tsrnn --help",
        "import tsrnn",
        "from tsrnn import LSTMRegressor",
    ]
    for row in result["rows"]:
        assert len(row["times_s"]) == 1 and row["times_s"][0] > 0
        assert row["command"] in out
