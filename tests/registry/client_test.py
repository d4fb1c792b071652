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


class _Store:
    """A trace search as MLflow's SQL store answers it: newest first (ties by id), ``size`` a page, an offset token.

    Traces numbered in ``hidden`` come without their ``request_time`` (a time the pager cannot read).
    """

    def __init__(self, stamps: list[int], hidden: frozenset[int] = frozenset()) -> None:
        self.traces = [(f"tr-{index:05d}", stamp, index in hidden) for index, stamp in enumerate(stamps)]
        self.requests: list[tuple[str, str | None]] = []

    def page(self, experiment_ids: list[str], filter_string: str, token: str | None, size: int = 4) -> tuple[list[dict[str, object]], str | None]:
        self.requests.append((filter_string, token))
        bound = int(filter_string.rsplit("<= ", 1)[1]) if "<=" in filter_string else None
        found = sorted((trace for trace in self.traces if bound is None or trace[1] <= bound), key=lambda trace: (-trace[1], trace[0]))
        offset = int(token or 0)
        page = [{"trace_id": name, **({} if hidden else {"request_time": _rfc3339(stamp)})} for name, stamp, hidden in found[offset : offset + size]]
        return page, str(offset + size) if offset + size < len(found) else None


def _rfc3339(ms: int) -> str:
    import datetime

    moment = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{moment}.{ms % 1000:03d}Z" if ms % 1000 else f"{moment}Z"


@pytest.mark.parametrize(
    ("stamps", "hidden"),
    [
        ([5000, 4000, 3000, 2000, 1000, 999, 998, 1], frozenset()),  # one trace a millisecond
        ([5000, 5000, 4000, 4000, 4000, 3000, 3000, 2000, 2000, 2000, 1000], frozenset()),  # ties across page boundaries
        ([7000] * 9 + [6000, 5000], frozenset()),  # a millisecond holding more than a page
        ([3000, 2500, 2000, 1000, 1000, 500, 450, 400, 300], frozenset({1, 6})),  # times that cannot be read: the token
        ([1_796_000_000_123, 1_796_000_000_120, 1_796_000_000_000, 1_796_000_000_000, 1_795_999_999_999], frozenset()),
    ],
)
def test_trace_pages_go_by_time_and_yield_every_trace_once(tmp_path: Path, stamps: list[int], hidden: frozenset[int]) -> None:
    from prompthooks.registry.client import MlflowRegistry

    registry = MlflowRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", deadline=float("inf"))
    store = _Store(stamps, hidden)
    registry._traces_page = store.page  # type: ignore[method-assign]
    found = [str(item["trace_id"]) for item in registry.traces(["1"], 'prompt = "a/1"')]
    assert sorted(found) == [name for name, _, _ in store.traces] and len(found) == len(set(found))
    if not hidden and len(set(stamps)) == len(stamps):  # no ties: each page a fresh query from the oldest time, never an offset
        assert [token for _, token in store.requests] == [None] * len(store.requests)
        assert [bound for bound, _ in store.requests][1:] == [f'prompt = "a/1" AND trace.timestamp_ms <= {stamp}' for stamp in (2000, 998)]  # each page starts at the last one's oldest millisecond
