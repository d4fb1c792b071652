"""Atomic writes that happen only when the bytes change."""

from __future__ import annotations

import os


def write_if_changed(path: str, data: bytes, *, held: bytes | None = None) -> bool:
    """Replace ``path`` with ``data`` atomically (temp file + rename); False when already equal.

    ``held``: what the file held when this process read it (megabytes, for a lock): compared instead of reading it again.
    """
    existing_mode: int | None
    try:
        if held is None:
            with open(path, "rb") as file:
                held = file.read()
        if held == data:
            return False
        existing_mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        existing_mode = None
    replace(path, data, existing_mode)
    return True


def replace(path: str, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically (temp file + rename), without reading what it held; ``mode``: keep it."""
    directory, name = os.path.split(path)
    temp_path = os.path.join(directory, f".{name}.{os.getpid()}.prompthooks-tmp")
    fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies to new files
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        if mode is not None:
            os.chmod(temp_path, mode)
        os.replace(temp_path, path)
    except BaseException:
        os.unlink(temp_path)
        raise
