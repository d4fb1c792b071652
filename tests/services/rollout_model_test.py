"""A seeded random walk of deploy operations on environments with similar names, checked against a model after every step.

Deploys, rollbacks, splits, promotions and ends of splits on ``p``, ``p-eu`` and ``p-b`` (whose
names a prefix rule would confuse), some interrupted by the proxy failing an alias write, some
run by two actors at once.  After every step: no record is left PENDING, an environment whose
newest record is READY serves exactly what that record says (``status`` agrees), and no
operation touched another environment's aliases.

    PROMPTHOOKS_DEPLOY_STEPS=400 PROMPTHOOKS_DEPLOY_SEED=7 pytest tests/services/rollout_model_test.py
"""

from __future__ import annotations

import datetime
import json
import os
import random
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow import MlflowClient

from prompthooks import contract
from testing.counting_proxy import CountingProxy, Fault
from testing.mlflow_server import MlflowServer
from tests.helpers import cli
from tests.helpers.registry import lock_and_commit, prompt_text
from tests.helpers.repos import GitRepo, init_repo

ENVIRONMENTS = ("p", "p-eu", "p-b")
VARIANTS = ("b", "eu")
STEPS = int(os.environ.get("PROMPTHOOKS_DEPLOY_STEPS", "100"))
# A new seed every day, printed with any failure; set the variable to replay one.
SEED = int(os.environ.get("PROMPTHOOKS_DEPLOY_SEED", datetime.date.today().strftime("%Y%m%d")))
NO_RETRIES = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
SPLIT = "split:"


class World:
    def __init__(self, repo: GitRepo, uri: str, proxy: CountingProxy, names: list[str], refs: list[str]) -> None:
        self.repo, self.uri, self.proxy, self.names, self.refs = repo, uri, proxy, names, refs

    def run(self, *args: str, via_proxy: bool = False) -> subprocess.CompletedProcess[str]:
        uri = self.proxy.uri if via_proxy else self.uri
        result = cli.run(self.repo.root, *args, "--tracking-uri", uri, env=NO_RETRIES if via_proxy else None)
        assert result.returncode in (0, 1, 4), (args, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def aliases(self) -> dict[tuple[str, str], int | str]:
        """Every prompt's aliases, and its split tags (as ``(name, "split:ENV")``): what an operation on one environment may touch."""
        found: dict[tuple[str, str], int | str] = {}
        for name in self.names:
            query = urllib.parse.urlencode({"name": name})
            try:
                with urllib.request.urlopen(f"{self.uri}/api/2.0/mlflow/registered-models/get?{query}", timeout=30) as response:
                    model = json.load(response)["registered_model"]
            except urllib.error.HTTPError:
                continue  # not registered yet
            found.update({(name, item["alias"]): int(item["version"]) for item in model.get("aliases", [])})
            found.update({(name, SPLIT + tag["key"].removeprefix(contract.SPLIT_TAG_PREFIX)): tag["value"] for tag in model.get("tags", []) if tag["key"].startswith(contract.SPLIT_TAG_PREFIX)})
        return found

    def records(self, environment: str) -> list[tuple[str, dict[str, str]]]:
        client = MlflowClient(tracking_uri=self.uri)
        experiment = client.get_experiment_by_name("llmops-prompts")
        if experiment is None:
            return []
        found = client.search_logged_models(
            [experiment.experiment_id], filter_string=f"tags.prompthooks_environment = '{environment}'", order_by=[{"field_name": "creation_time", "ascending": False}]
        )
        return [(model.status.name, dict(model.tags)) for model in found]


def _owner(alias: str) -> str:
    """The environment an alias (or a split tag) belongs to: its own, or the one it is a variant of."""
    return alias.removeprefix(SPLIT).split(contract.VARIANT_SEPARATOR, 1)[0]


def _check(world: World, step: str, environment: str, served: dict[tuple[str, str], int | str]) -> None:
    """The environment the step operated on (the others' aliases were checked untouched, so their records still hold)."""
    history = world.records(environment)
    assert not [tags for status, tags in history if status == "PENDING"], f"{step}: a PENDING record of {environment}"
    if not history or history[0][0] != "READY":
        return  # interrupted: the next operation's business (rollback or redeploy repairs it)
    tags = history[0][1]
    recorded = {name: number for name, (_, number) in json.loads(tags.get("prompthooks_prompts_1", "{}")).items()}
    main = {name: number for (name, alias), number in served.items() if alias == environment}
    assert main == recorded, f"{step}: {environment} serves {main}, its newest record says {recorded}"
    status = cli.run(world.repo.root, "status", environment, "--tracking-uri", world.uri)
    assert status.returncode == 0, f"{step}: status {environment}: {status.stdout}{status.stderr}"


def _operations(world: World, rng: random.Random) -> list[tuple[float, Callable[[str], str]]]:
    def deploy(environment: str) -> str:
        ref = rng.choice(world.refs)
        world.run("deploy", environment, "--ref", ref)
        return f"deploy {environment} --ref {ref[:8]}"

    def rollback(environment: str) -> str:
        world.run("rollback", environment)
        return f"rollback {environment}"

    def split(environment: str) -> str:
        ref, variant, weight = rng.choice(world.refs), rng.choice(VARIANTS), rng.choice((10, 30))
        world.run("deploy", environment, "--ref", ref, "--variant", variant, "--weight", str(weight))
        return f"deploy {environment} --ref {ref[:8]} --variant {variant} --weight {weight}"

    def promote(environment: str) -> str:
        variant = rng.choice(VARIANTS)
        world.run("deploy", environment, "--promote", variant)
        return f"deploy {environment} --promote {variant}"

    def end_split(environment: str) -> str:
        world.run("deploy", environment, "--end-split")
        return f"deploy {environment} --end-split"

    def interrupted(environment: str) -> str:
        victim = rng.choice(world.names)
        world.proxy.faults.append(Fault(lambda method, path, body: method == "POST" and "registered-models/alias" in path and victim.encode() in body, status=500))
        try:
            ref = rng.choice(world.refs)
            world.run("deploy", environment, "--ref", ref, via_proxy=True)
        finally:
            world.proxy.faults.clear()
        return f"deploy {environment} --ref {ref[:8]} (alias writes of {victim} failing)"

    def concurrent(environment: str) -> str:
        first, second = rng.choice(world.refs), rng.choice(world.refs)
        command = [cli.PROMPTHOOKS, "deploy", environment, "--tracking-uri", world.uri, "--ref"]
        processes = [subprocess.Popen([*command, ref], cwd=world.repo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for ref in (first, second)]
        for process in processes:
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
        return f"deploy {environment} --ref {first[:8]} and --ref {second[:8]} at once"

    return [(5, deploy), (3, rollback), (2, split), (1, promote), (1, end_split), (1, interrupted), (0.15, concurrent)]


def _world(tmp_path: Path, prefix: str, uri: str, proxy: CountingProxy) -> World:
    repo = init_repo(tmp_path / "repo")
    names = [f"{prefix}_{i}" for i in range(2)]
    refs = []
    for round_ in range(3):
        for i, name in enumerate(names):
            if round_ == 0 or (round_ + i) % 2:
                repo.write(f"prompts/p{i}.md", prompt_text(name, f"Round {round_} for {{{{ person }}}}."))
        refs.append(lock_and_commit(repo, f"round {round_}"))
    for ref in refs:  # in order, as a team's sync does: a deploy never registers an old version on top of @latest
        assert cli.run(repo.root, "sync", "--ref", ref, "--tracking-uri", uri).returncode == 0
    return World(repo, uri, proxy, names, refs)


@pytest.mark.every_backend
def test_random_deploy_operations_keep_records_aliases_and_status_in_agreement(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    rng = random.Random(SEED)
    proxy = CountingProxy(mlflow_server.port)
    world = _world(tmp_path, prefix.replace("-", "_")[-40:], mlflow_server.uri, proxy)
    operations = _operations(world, rng)
    done: list[str] = []
    try:
        for _ in range(STEPS):
            environment = rng.choice(ENVIRONMENTS)
            before = world.aliases()
            operation = rng.choices([operation for _, operation in operations], weights=[weight for weight, _ in operations])[0]
            done.append(operation(environment))
            after = world.aliases()
            others = {key for key in before.keys() | after.keys() if _owner(key[1]) != environment}
            touched = sorted(key for key in others if before.get(key) != after.get(key))
            assert not touched, f"{done[-1]} touched another environment's aliases: {touched}"
            _check(world, done[-1], environment, after)
    except AssertionError as error:
        raise AssertionError(f"seed {SEED}, after: {'; '.join(done[-8:])}: {error}") from None
    finally:
        proxy.close()
