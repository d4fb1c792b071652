"""Real servers for tests and benchmarks: an MLflow server, a throwaway PostgreSQL cluster, a counting proxy.

Shared by ``tests/`` and ``bench/``, which import this package and never each other (as pre-commit's ``testing/``).
"""
