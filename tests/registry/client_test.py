"""The registry client's process-wide settings (its requests are tested against real servers in commands/)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from prompthooks.registry.client import DATABRICKS_PROBES, remember_absent_probes


@pytest.fixture
def probes_restored() -> Iterator[None]:
    saved = {name: sys.modules[name] for name in DATABRICKS_PROBES if name in sys.modules}
    for name in DATABRICKS_PROBES:
        sys.modules.pop(name, None)
    yield
    for name in DATABRICKS_PROBES:
        sys.modules.pop(name, None)
    sys.modules.update(saved)


def test_absent_databricks_probes_fail_without_a_search_and_installed_ones_still_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probes_restored: None
) -> None:
    (tmp_path / "IPython").mkdir()
    (tmp_path / "IPython" / "__init__.py").write_text("def get_ipython():\n    return 'installed'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    remember_absent_probes()
    searched: list[str] = []

    class Recorder:
        def find_spec(self, name: str, path: object = None, target: object = None) -> None:
            searched.append(name)

    monkeypatch.setattr(sys, "meta_path", [Recorder(), *sys.meta_path])
    with pytest.raises(ImportError):
        from dbruntime.databricks_repl_context import get_context  # noqa: F401
    with pytest.raises(ImportError):
        from pyspark import TaskContext  # noqa: F401
    assert searched == []  # answered from sys.modules: no walk over sys.path
    from IPython import get_ipython  # installed: MLflow still finds it

    assert get_ipython() == "installed"
