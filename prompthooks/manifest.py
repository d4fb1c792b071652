"""Deploy manifests of pinned prompt versions: env, dotenv, JSON and a Kubernetes ConfigMap (pure)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Final, NamedTuple

from prompthooks import contract
from prompthooks.errors import FatalError

FORMATS: Final = ("env", "dotenv", "json", "k8s")
DNS_SUBDOMAIN: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")


class Pinned(NamedTuple):
    name: str
    version: str
    hash: str
    mlflow_version: int | None = None  # known when read from an environment


def variables(pins: Sequence[Pinned], git_sha: str, single: bool) -> list[tuple[str, str]]:
    """``PROMPTS_GIT_SHA``, then each prompt's version and hash, then ``PROMPT_VERSION`` for a single prompt."""
    owners: dict[str, str] = {}
    for pin in pins:
        stem = contract.variable_stem(pin.name)
        if stem in owners:
            raise FatalError(
                f"prompts {owners[stem]!r} and {pin.name!r} both map to {contract.version_variable(pin.name)}; "
                "rename one (names are upper-cased, every character but A-Z and 0-9 becomes '_')"
            )
        owners[stem] = pin.name
    found = [(contract.GIT_SHA_VARIABLE, git_sha)]
    for pin in sorted(pins):
        found += [(contract.version_variable(pin.name), pin.version), (contract.hash_variable(pin.name), pin.hash)]
    if single:
        found.append((contract.SINGLE_VERSION_VARIABLE, pins[0].version))
    return found


def _quoted(value: str) -> str:
    return json.dumps(value)  # a JSON string is a YAML double-quoted scalar and a dotenv quoted value


def render(output: str, pins: Sequence[Pinned], git_sha: str, source: str, single: bool, name: str) -> str:
    pairs = variables(pins, git_sha, single)
    if output == "env":
        return "".join(f"{key}={value}\n" for key, value in pairs)
    if output == "dotenv":
        return f"# prompthooks export: prompt versions of {source} (commit {git_sha})\n" + "".join(f"{key}={_quoted(value)}\n" for key, value in pairs)
    if output == "json":
        document = {
            "git_sha": git_sha,
            "source": source,
            "prompts": {
                pin.name: {
                    "version": pin.version,
                    "hash": pin.hash,
                    **({"mlflow_version": pin.mlflow_version} if pin.mlflow_version is not None else {}),
                    "version_variable": contract.version_variable(pin.name),
                    "hash_variable": contract.hash_variable(pin.name),
                }
                for pin in sorted(pins)
            },
            "variables": dict(pairs),
        }
        return json.dumps(document, indent=2) + "\n"
    if not (len(name) <= 253 and DNS_SUBDOMAIN.match(name)):
        raise FatalError(f"ConfigMap name {name!r} is not a DNS subdomain (lower-case letters, digits, '-' and '.')", exit_code=2)
    lines = [
        f"# prompthooks export: prompt versions of {source} (commit {git_sha})",
        "# Apply: prompthooks export --format k8s ... | kubectl apply -f -",
        "# Use it in a Deployment's container spec:",
        "#   envFrom:",
        "#     - configMapRef:",
        f"#         name: {name}",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        f"  name: {name}",
        "  labels:",
        "    app.kubernetes.io/managed-by: prompthooks",
        "data:",
        *(f"  {key}: {_quoted(value)}" for key, value in pairs),
    ]
    return "\n".join(lines) + "\n"
