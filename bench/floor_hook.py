"""The floor under ``prompthooks-lock``: what any hook that keeps ``prompts.lock`` must do when one prompt changed, and nothing more.

    python bench/floor_hook.py PROMPT

Run by pre-commit from the environment it made for prompthooks (Jinja2, PyYAML and semver installed),
beside the real hook (``bench/hook_precommit.py``).  It notices the change the way a hook without a
file-system monitor must (a child lists the tracked files and ``lstat``\\ s each, while this process
imports the libraries that read a prompt), reads PROMPT (front matter, Jinja variables, a version bump,
a content hash), and puts the new hash into PROMPT's table of the lock, written whole as a new file.
It keeps no cache, guards no history, plans nothing and stamps no front matter: what pre-commit then
spends on the hook (a Python environment's health check, the diff of the rewritten lock) is in its time too.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys


def _stat_tracked() -> int:
    listed = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True).stdout.decode()
    return sum(os.lstat(path).st_size for path in listed.split("\0") if path)


def main(prompt: str) -> int:
    child = os.fork()
    if child == 0:
        _stat_tracked()
        os._exit(0)
    import jinja2
    import semver
    import yaml
    from jinja2 import meta

    os.waitpid(child, 0)
    with open(prompt, "rb") as file:
        raw = file.read()
    text = raw.decode()
    front, _, body = text.removeprefix("{#\n").partition("#}\n")
    metadata = yaml.safe_load(front)
    variables = sorted(meta.find_undeclared_variables(jinja2.Environment().parse(body)))
    version = str(semver.Version.parse(str(metadata.get("version", "1.0.0"))).bump_patch())
    digest = hashlib.sha256(f"{body}{metadata}{variables}{version}".encode()).hexdigest()
    with open("prompts.lock", "rb") as file:
        lock = file.read()
    at = lock.index(b"\nhash = ", lock.index(f'\npath = "{prompt}"\n'.encode()))
    end = lock.index(b"\n", at + 1)
    new = lock[:at] + f'\nhash = "sha256:{digest}"'.encode() + lock[end:]
    if new != lock:
        with open("prompts.lock.new", "wb") as file:
            file.write(new)
        os.replace("prompts.lock.new", "prompts.lock")
    return 1 if new != lock else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
