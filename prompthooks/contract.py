"""The names that sync and deploy write and the runtime loader reads: one place, so both halves agree.

Kept free of imports beyond the standard library: applications import it through ``prompthooks.load``.
"""

from __future__ import annotations

import re
from typing import Final

# Tags on every registered prompt version.
TAG_VERSION: Final = "prompthooks_version"  # the semver from the lock
TAG_HASH: Final = "prompthooks_hash"  # the lock's content hash, ``sha256:<hex>``
TAG_COMMIT: Final = "prompthooks_commit"  # the full git sha the version was synced from
TAG_PATH: Final = "prompthooks_path"  # the prompt file's path in the repository
TAG_METADATA: Final = "prompthooks_metadata"  # the canonical metadata JSON (for the tamper check)
TAG_FLATTENED_HASH: Final = "prompthooks_flattened_hash"  # a composed prompt: the hash of the registered, self-contained copy
TAG_DEPENDENCIES: Final = "prompthooks_dependencies"  # a composed prompt: the JSON list of its direct dependencies' paths

# A prompt-level tag holding an environment's active A/B split: JSON ``{"production": 80, "production-b": 20}``.
SPLIT_TAG_PREFIX: Final = "prompthooks_split_"

# MLflow's rules for alias names (environments are aliases; ``latest`` and ``v<digits>`` in any case name
# versions) and its limit on tag keys (an environment's split tag is ``prompthooks_split_<ENV>``).
ALIAS_RULE: Final = re.compile(r"[\w-]{1,255}\Z")
RESERVED_ALIAS: Final = re.compile(r"(?i:latest|v\d+)\Z")
MAX_TAG_KEY: Final = 250
MAX_ALIAS: Final = 255
# A variant of an A/B split is the alias ``<ENV>--<VARIANT>``; no environment name holds ``--``, so no
# variant alias can ever be another environment's alias.
VARIANT_SEPARATOR: Final = "--"

# Deploy manifests (``prompthooks export``) and the loader's pin.
GIT_SHA_VARIABLE: Final = "PROMPTS_GIT_SHA"
SINGLE_VERSION_VARIABLE: Final = "PROMPT_VERSION"
ENV_VARIABLE: Final = "PROMPTHOOKS_ENV"
ROOT_VARIABLE: Final = "PROMPTHOOKS_ROOT"

_NOT_UPPER_ALNUM: Final = re.compile(r"[^A-Z0-9]")


def split_tag(environment: str) -> str:
    """The prompt-level tag that holds ``environment``'s split."""
    return SPLIT_TAG_PREFIX + environment


def variable_stem(prompt_name: str) -> str:
    """``support.assistant-v2`` -> ``SUPPORT_ASSISTANT_V2``: upper-cased, every other character than A-Z and 0-9 as ``_``."""
    return _NOT_UPPER_ALNUM.sub("_", prompt_name.upper())


def version_variable(prompt_name: str) -> str:
    """The environment variable that pins a prompt's semver: ``PROMPT_<NAME>_VERSION``."""
    return f"PROMPT_{variable_stem(prompt_name)}_VERSION"


def hash_variable(prompt_name: str) -> str:
    """The environment variable that carries a prompt's content hash: ``PROMPT_<NAME>_HASH``."""
    return f"PROMPT_{variable_stem(prompt_name)}_HASH"


def alias_problem(alias: str) -> str | None:
    """Why ``alias`` cannot name an environment in MLflow, or None when it can."""
    if not ALIAS_RULE.match(alias):
        return f"environment {alias!r} is not a valid MLflow alias (letters, digits, '_' and '-', at most {MAX_ALIAS})"
    if RESERVED_ALIAS.match(alias):
        return f"environment {alias!r} is reserved by MLflow ('latest' and 'v<number>', in any case, name versions)"
    return None


def environment_problem(environment: str) -> str | None:
    """Why ``environment`` cannot be deployed to, or None: MLflow's alias rules, and room for its split tag and variants."""
    problem = alias_problem(environment)
    if problem is not None:
        return problem
    if VARIANT_SEPARATOR in environment or environment.startswith("-") or environment.endswith("-"):
        return f"environment {environment!r} contains {VARIANT_SEPARATOR!r} or starts or ends with '-': '--' separates an environment from its A/B variants"
    if len(split_tag(environment)) > MAX_TAG_KEY:
        return f"environment {environment!r} is too long: its split tag {split_tag(environment)[:40]}... would pass MLflow's {MAX_TAG_KEY}-character limit"
    return None


def variant_alias(environment: str, variant: str) -> str:
    """The alias of an A/B variant of ``environment``: ``production--b``."""
    return f"{environment}{VARIANT_SEPARATOR}{variant}"


def _valid_variant(variant: str) -> bool:
    return bool(ALIAS_RULE.match(variant)) and VARIANT_SEPARATOR not in variant and not variant.startswith("-") and not variant.endswith("-")


def variant_problem(environment: str, variant: str) -> str | None:
    """Why ``variant`` cannot name an A/B variant of ``environment``, or None."""
    if not _valid_variant(variant):
        return f"variant {variant!r} is not a valid name (letters, digits, '_' and single '-' inside)"
    alias = variant_alias(environment, variant)
    if len(alias) > MAX_ALIAS:
        return f"variant alias {alias[:40]}... is longer than MLflow's {MAX_ALIAS} characters"
    return None


def is_variant_of(alias: str, environment: str) -> bool:
    """``alias`` is ``<environment>--<variant>`` with a valid variant: ``q---b`` is no variant of ``q``."""
    return alias.startswith(environment + VARIANT_SEPARATOR) and _valid_variant(alias[len(environment) + len(VARIANT_SEPARATOR) :])


# Added by sync beside the version tags above.
TAG_VARIABLES: Final = "prompthooks_variables"  # JSON list: the variables the lock records (trust these over MLflow's .variables)
TAG_CHAT_LAYOUT: Final = "prompthooks_chat_layout"  # JSON list: the text around a chat prompt's messages, to rebuild its body
# On the prompt itself: the JSON list of front-matter ``tags:`` keys sync set, so removed ones can be removed.
TAG_PROMPT_TAGS: Final = "prompthooks_prompt_tags"

# The runtime loader's settings (``prompthooks.load``).
CACHE_TTL_VARIABLE: Final = "PROMPTHOOKS_CACHE_TTL"  # seconds an environment's resolution is fresh (default 60)
DEADLINE_VARIABLE: Final = "PROMPTHOOKS_LOAD_DEADLINE"  # seconds the registry requests of one load may take (default 2)
# Set (1, true, yes, on): refuse a registry version that neither the deployed tree's lock nor a pin gives a hash for.
REQUIRE_GIT_HASH_VARIABLE: Final = "PROMPTHOOKS_REQUIRE_GIT_HASH"
VARIABLES_TAG: Final = TAG_VARIABLES  # a version's variables as a JSON list, when sync sets it
