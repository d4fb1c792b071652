"""Run ``prompthooks`` as a user would: in this process (fast), or as its own process where that is what a test proves.

A ``prompthooks`` process imports mlflow on every registry command: seconds each on a
loaded machine.  ``main()`` in-process gives the same exit code, stdout and stderr, so
a test runs a subprocess only for what needs one (imports, signals, concurrency, pipes).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

from prompthooks.main import main

PROMPTHOOKS: Final = str(Path(sys.executable).with_name("prompthooks"))


@contextlib.contextmanager
def inside(directory: Path | str, env: Mapping[str, str] | None = None) -> Iterator[None]:
    """Run in ``directory`` with ``env`` added to the environment; both restored afterwards."""
    previous_cwd, previous_env = os.getcwd(), dict(os.environ)
    os.chdir(directory)
    os.environ.update(env or {})
    try:
        yield
    finally:
        os.chdir(previous_cwd)
        os.environ.clear()
        os.environ.update(previous_env)


def _stream() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8", "replace")


def run(cwd: Path | str, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``prompthooks ARGS`` in this process: exit code, stdout and stderr, as ``subprocess.run`` reports them."""
    out, err = _stream(), _stream()
    with inside(cwd, env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code if isinstance(exit_.code, int) else 2
    return subprocess.CompletedProcess(["prompthooks", *args], code, _text(out), _text(err))


def run_process(cwd: Path | str, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``prompthooks ARGS`` as its own process, through the installed console script."""
    return subprocess.run([PROMPTHOOKS, *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
