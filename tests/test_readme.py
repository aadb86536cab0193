"""The README's code must work as written.

Every ```python block of README.md is extracted in order and the blocks are run
concatenated in ONE fresh interpreter (so a later block may use names an earlier
one defined, exactly as when pasting them into one Python session), with a temporary
working directory so files the snippets write land there.  The first two fenced
bash commands are the install/reproduce line and the CI's test command.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
# Six-decimal numbers quoted at the end of a comment, ``expr  # ...: 0.126078, 0.181892``; the
# expression before the ``#`` is evaluated a second time to check them, so keep it side-effect free.
QUOTED = re.compile(r"#[^\n]*?:\s*((?:\d+\.\d{6}(?:,\s*)?)+)\s*$", re.MULTILINE)
# The marker the snippet program prints before the values of quoted lines.
MARK = "@@README@@"


def _blocks(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return [body for lang, body in FENCE.findall(text) if lang == language]


def _program(blocks: list[str]) -> tuple[str, list[tuple[str, list[float]]]]:
    """The blocks concatenated; a line whose comment quotes numbers also prints its value."""
    lines: list[str] = []
    quoted: list[tuple[str, list[float]]] = []
    for number, block in enumerate(blocks, 1):
        lines.append(f"# ---- README python block {number} ----")
        for line in block.splitlines():
            lines.append(line)
            match = QUOTED.search(line)
            if match and not line.startswith((" ", "\t")):
                expression = line[: line.index("#")].strip()
                values = [float(v) for v in re.findall(r"\d+\.\d{6}", match.group(1))]
                lines.append(f"print({MARK!r}, {len(quoted)}, repr(tuple(float(v) for v in "
                             f"(lambda t: t if isinstance(t, tuple) else (t,))(({expression})))))")
                quoted.append((expression, values))
    return "\n".join(lines) + "\n", quoted


def test_readme_has_python_blocks():
    assert len(_blocks("python")) >= 5


def test_readme_first_bash_commands():
    commands = [line.strip() for block in _blocks("bash") for line in block.splitlines()
                if line.strip() and not line.strip().startswith("#")]
    assert commands[:2] == [
        'pip install -e ".[test]" && mi-cvx reproduce --out figures',
        "python -m pytest -n 2 -q",
    ]
    ci = (README.parent / ".ci" / "run")
    if ci.is_file():  # the CI runs the README's test command, and nothing else
        assert commands[1] in ci.read_text(encoding="utf-8")


def test_readme_python_blocks_run_in_one_interpreter(tmp_path):
    program, quoted = _program(_blocks("python"))
    # Run with ``-c`` like an interactive paste: worker processes the snippets start (loky,
    # a Dask LocalCluster with processes=True) then have no __main__ file to re-import.
    (tmp_path / "readme_snippets.py").write_text(program, encoding="utf-8")  # for debugging
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f"README snippets failed (exit {proc.returncode})\n--- stderr ---\n{proc.stderr[-6000:]}"
        f"\n--- stdout ---\n{proc.stdout[-2000:]}"
    )
    printed = {}
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            _, index, values = line.split(" ", 2)
            printed[int(index)] = ast.literal_eval(values)  # a repr of a tuple of floats
    for index, (expression, expected) in enumerate(quoted):
        got = printed[index]
        assert len(got) >= len(expected), (expression, got, expected)
        for value, want in zip(got, expected, strict=False):
            # quoted to six decimals: the computed value must round to the quoted digits
            assert value == pytest.approx(want, abs=5.01e-7), (
                f"README quotes {want} for `{expression}`, the code gives {value:.9f}")
