"""The yardstick of bench/ab_bench.py: fetch both arms' traces with `mlflow.search_traces`, as MLflow documents it.

    python bench/ab_search.py URI EXPERIMENT PROMPT list|spans

``spans``: its default, a DataFrame with every trace's spans; ``list``: a list without spans
(``include_spans=False``), the least a search can fetch.  Prints the number of traces of each arm.
"""

from __future__ import annotations

import sys

import mlflow


def main(argv: list[str]) -> int:
    uri, experiment, name, kind = argv
    mlflow.set_tracking_uri(uri)
    found = mlflow.get_experiment_by_name(experiment)
    assert found is not None, experiment
    for number in (1, 2):
        link = f'prompt = "{name}/{number}"'
        if kind == "spans":
            traces = mlflow.search_traces(locations=[found.experiment_id], filter_string=link)
        else:
            traces = mlflow.search_traces(locations=[found.experiment_id], filter_string=link, return_type="list", include_spans=False)
        print(len(traces))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
