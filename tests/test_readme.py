"""The README's code runs: every Python block is executed, the set-up commands are CI's.

The Python blocks of README.md build on each other (the backtest example uses the series
loaded in the forecasting example), so they run in order in one fresh interpreter, in an
empty folder, with a non-interactive matplotlib backend.  The bash block holds the two
set-up commands; ``.ci/run`` must run them verbatim, in order, in one venv.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


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
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [s for s in proc.stdout.splitlines() if s.startswith("README-RESULT ")][-1]
    out = json.loads(line[len("README-RESULT "):])
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
