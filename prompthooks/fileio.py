"""Atomic writes that happen only when the bytes change."""

from __future__ import annotations

import os
import tempfile


def write_if_changed(path: str, data: bytes) -> bool:
    """Replace ``path`` with ``data`` atomically (temp file + rename); False when already equal."""
    try:
        with open(path, "rb") as file:
            if file.read() == data:
                return False
        mode: int | None = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    directory = os.path.dirname(path) or "."
    fd, temp_path = tempfile.mkstemp(dir=directory, prefix=".prompthooks-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        if mode is not None:
            os.chmod(temp_path, mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temp_path, 0o666 & ~umask)
        os.replace(temp_path, path)
    except BaseException:
        os.unlink(temp_path)
        raise
    return True
