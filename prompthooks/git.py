"""Every git access of prompthooks.

The working tree and the index are read with ``git`` commands, which honour
``GIT_INDEX_FILE`` during ``git commit -a``.  History and blobs at other refs go
through GitPython's object model; it is imported only there, because importing
it costs several times Python's start-up and the hook runs on every commit.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final, NamedTuple

from prompthooks.errors import FatalError

if TYPE_CHECKING:
    from git import Blob
    from git import Repo as Repo


class Checkout(NamedTuple):
    root: str
    git_dir: str
    common_dir: str  # shared by every worktree: where a shallow clone's boundaries are kept


def run(args: list[str], cwd: str | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise FatalError("git is not installed or not on PATH") from None


def find_checkout(cwd: str | None = None) -> Checkout:
    result = run(["rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-common-dir"], cwd=cwd)
    if result.returncode != 0:
        raise FatalError("not inside a git repository (prompthooks reads prompts from git)")
    root, git_dir, common_dir = result.stdout.decode().splitlines()
    return Checkout(root, git_dir, os.path.abspath(os.path.join(cwd or os.getcwd(), common_dir)))  # relative to cwd, or absolute


def indexed_files(root: str) -> list[str]:
    """Tracked and staged paths, ``/``-separated and relative to ``root``, each once.

    (During a conflicted merge, git lists an unmerged path once per stage.)
    """
    result = run(["ls-files", "-z", "--cached", "--full-name"], cwd=root)
    if result.returncode != 0:
        raise FatalError(f"git ls-files failed: {result.stderr.decode(errors='replace').strip()}")
    paths = result.stdout.decode("utf-8", "surrogateescape").split("\0")
    return list(dict.fromkeys(path for path in paths if path))


class IndexEntry(NamedTuple):
    blob: str  # the object id of the staged content
    skip_worktree: bool  # outside a sparse checkout: the working tree may lack it; the index holds it

    @classmethod
    def parse(cls, info: str) -> IndexEntry:
        """From ``git ls-files --stage -t``'s ``<tag> <mode> <blob> <stage>``."""
        tag, _mode, blob, _stage = info.split(" ")
        return cls(blob, tag == "S")


def index_entries(root: str) -> dict[str, str]:
    """Tracked and staged paths (as ``indexed_files``), each with its raw index line for ``IndexEntry.parse``.

    One call gives the staged blobs and skip-worktree bits too; only the few paths that need them are parsed.
    """
    result = run(["ls-files", "-z", "--cached", "--full-name", "--stage", "-t"], cwd=root)
    if result.returncode != 0:
        raise FatalError(f"git ls-files failed: {result.stderr.decode(errors='replace').strip()}")
    entries: dict[str, str] = {}
    for record in result.stdout.decode("utf-8", "surrogateescape").split("\0"):
        info, _, path = record.partition("\t")
        if path and path not in entries:
            entries[path] = info
    return entries


def _cat_file(root: str, mode: str, names: list[str]) -> bytes:
    """``git cat-file --batch`` (or ``--batch-check``) of these names, one a line."""
    try:
        process = subprocess.run(["git", "cat-file", mode], cwd=root, input="".join(f"{name}\n" for name in names).encode(), capture_output=True, check=False)
    except FileNotFoundError:
        raise FatalError("git is not installed or not on PATH") from None
    return process.stdout


def read_objects(root: str, names: list[str]) -> list[tuple[str, bytes] | None]:
    """Each object (``HEAD``, ``HEAD:path``, a blob id) as (object id, bytes), None when missing: one ``git cat-file``."""
    if not names:
        return []
    output, position = _cat_file(root, "--batch", names), 0
    found: list[tuple[str, bytes] | None] = []
    for _ in names:
        end = output.index(b"\n", position)
        header = output[position:end].split(b" ")
        position = end + 1
        if len(header) != 3 or header[1] == b"missing":
            found.append(None)
            continue
        size = int(header[2])
        found.append((header[0].decode(), output[position : position + size]))
        position += size + 1
    return found


def tree_blob_id(tree: bytes, name: str, object_id_length: int) -> str | None:
    """The blob id of entry ``name`` in a tree object's bytes (as ``read_objects`` gives them); None when it holds no such blob."""
    wanted, size, position = name.encode(), object_id_length // 2, 0
    try:
        while position < len(tree):
            space = tree.index(b" ", position)
            end = tree.index(b"\0", space)
            if tree[space + 1 : end] == wanted:  # a file or a symbolic link: a blob (a directory is a tree, a submodule a commit)
                return tree[end + 1 : end + 1 + size].hex() if tree[position:space] in (b"100644", b"100755", b"120000") else None
            position = end + 1 + size
    except ValueError:  # not a tree
        return None
    return None


_BLOB_IDS: Final[dict[int, tuple[bytes, str]]] = {}  # the last blob id computed, per id length: a lock is asked for twice in a run


def blob_id(data: bytes, object_id_length: int) -> str:
    """The id git gives ``data`` as a blob (SHA-1, or SHA-256 in a repository of that format)."""
    known = _BLOB_IDS.get(object_id_length)
    if known is not None and known[0] is data:
        return known[1]
    import hashlib  # only to compare the staged lock with the one on disk, off the unchanged path

    digest = (hashlib.sha1 if object_id_length == 40 else hashlib.sha256)(b"blob %d\0" % len(data))
    digest.update(data)  # not joined to the header: a lock is megabytes
    found = digest.hexdigest()
    _BLOB_IDS[object_id_length] = (data, found)
    return found


def known_blob_id(data: bytes, object_id_length: int) -> str | None:
    """``blob_id`` of ``data`` if this process computed it already (for free), else None."""
    known = _BLOB_IDS.get(object_id_length)
    return known[1] if known is not None and known[0] is data else None


def lock_commits(root: str, revisions: list[str], path: str) -> list[str]:
    """Commits reachable from ``revisions`` that changed ``path``, newest first."""
    result = run(["rev-list", *revisions, "--", path], cwd=root)
    return result.stdout.decode().split() if result.returncode == 0 else []


class CommitInfo(NamedTuple):
    sha: str
    author: str
    date: str
    subject: str


class FileStep(NamedTuple):
    """A commit that changed a file: the file's blob at its first parent and at the commit (None: no such file)."""

    info: CommitInfo
    parents: tuple[str, ...]
    old: str | None
    new: str | None


_STEP_FORMAT: Final = "%x01%H %P%x00%an%x00%aI%x00%B%x00"
_GITLINK: Final = "160000"


def _blob(mode: str, object_id: str) -> str | None:
    return None if mode in ("000000", _GITLINK) else object_id


def file_steps(root: str, revisions: list[str], path: str, *, full_history: bool = True) -> list[FileStep]:
    """Commits reachable from ``revisions`` that changed ``path``, oldest first: ``git log --raw``, no file read.

    ``full_history``: every commit that changed the file against any parent (``git rev-list --full-history``),
    parents before children; otherwise the commits ``git log --reverse -- path`` shows, in its order.
    """
    options = ["--full-history", "--topo-order"] if full_history else []
    args = ["log", f"--format={_STEP_FORMAT}", "--raw", "--no-abbrev", "--no-renames", "--root", "--reverse", *options]
    result = run([*args, *revisions, "--", path], cwd=root)
    if result.returncode != 0:
        return []
    steps: list[FileStep] = []
    merges: list[int] = []
    for record in result.stdout.decode("utf-8", "surrogateescape").split("\x01")[1:]:
        ids, author, date, message, raw = record.split("\x00", 4)
        commit, *parents = ids.split(" ")
        info = CommitInfo(commit, author, date, message.split("\n", 1)[0])
        change = next((line for line in raw.splitlines() if line.startswith(":")), None)
        if change is None:  # a merge: git shows no change for it; the blobs are looked up below
            if parents:
                merges.append(len(steps))
            steps.append(FileStep(info, tuple(parents), None, None))
            continue
        old_mode, new_mode, old, new = change[1:].split("\t", 1)[0].split(" ")[:4]
        steps.append(FileStep(info, tuple(parents), _blob(old_mode, old), _blob(new_mode, new)))
    if merges:
        names = [name for index in merges for name in (f"{steps[index].parents[0]}:{path}", f"{steps[index].info.sha}:{path}")]
        found = object_ids(root, names)
        for number, index in enumerate(merges):
            steps[index] = steps[index]._replace(old=found[2 * number], new=found[2 * number + 1])
    return steps


def object_ids(root: str, names: list[str]) -> list[str | None]:
    """Each blob named (``REV:path``) as its object id, None when missing or not a blob: one ``git cat-file``, nothing read."""
    if not names:
        return []
    found: list[str | None] = []
    for line in _cat_file(root, "--batch-check", names).decode().splitlines()[: len(names)]:
        fields = line.split(" ")
        found.append(fields[0] if len(fields) == 3 and fields[1] == "blob" else None)
    return found + [None] * (len(names) - len(found))


def pack_blobs(root: str, object_ids: list[str], directory: str) -> str:
    """Write the blobs to a pack in ``directory`` (its path without ``.pack``): versions of one file, stored as git's deltas.

    git keeps the deltas it already has (``--window=0`` computes none), so a long history of one
    file packs in milliseconds to a fraction of the bytes its versions hold.
    """
    try:
        process = subprocess.run(
            ["git", "-c", "pack.compression=1", "pack-objects", "-q", "--window=0", "--delta-base-offset", os.path.join(directory, "blobs")],
            cwd=root,
            input="".join(f"{object_id}\n" for object_id in object_ids).encode(),
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise FatalError("git is not installed or not on PATH") from None
    if process.returncode != 0:
        raise FatalError(f"git pack-objects failed: {process.stderr.decode(errors='replace').strip()}")
    return os.path.join(directory, f"blobs-{process.stdout.decode().strip()}")


def rev_list(root: str, revisions: list[str]) -> list[str]:
    """Commits reachable from ``revisions`` (``^X`` excludes X's), newest first; [] when git refuses them."""
    result = run(["rev-list", *revisions], cwd=root)
    return result.stdout.decode().split() if result.returncode == 0 else []


def left_right_count(root: str, one: str, other: str) -> tuple[int, int] | None:
    """How many commits only ``one`` reaches, and only ``other``; None when either is unknown (pruned)."""
    result = run(["rev-list", "--left-right", "--count", f"{one}...{other}"], cwd=root)
    if result.returncode != 0:
        return None
    left, right = result.stdout.split()
    return int(left), int(right)


def merge_base(root: str, one: str, other: str) -> str | None:
    result = run(["merge-base", one, other], cwd=root)
    return result.stdout.decode().strip() if result.returncode == 0 else None


def commit_id(root: str, revision: str) -> str | None:
    result = run(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd=root)
    return result.stdout.decode().strip() if result.returncode == 0 else None


def blob_at_revision(root: str, revision: str, path: str) -> bytes | None:
    """The committed bytes of ``path`` at ``revision`` (HEAD, MERGE_HEAD), or None (no such commit or file)."""
    result = run(["cat-file", "blob", f"{revision}:{path}"], cwd=root)
    return result.stdout if result.returncode == 0 else None


@contextmanager
def open_repo(root: str) -> Iterator[Repo]:
    import git  # see the module docstring

    try:
        repo = git.Repo(root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise FatalError("not inside a git repository", path=root) from None
    with repo:
        yield repo


FULL_HISTORY_FIX: Final = "run `git fetch --unshallow` (GitHub Actions: actions/checkout with `fetch-depth: 0`)"


def shallow_boundaries(common_dir: str) -> bytes:
    """The commits where a shallow clone's history is cut (``$GIT_COMMON_DIR/shallow``); b"" for a whole history.

    A commit's history is the same for as long as these are: ``git fetch --unshallow`` or ``--deepen`` changes it.
    """
    try:
        with open(os.path.join(common_dir, "shallow"), "rb") as file:
            return file.read()
    except FileNotFoundError:
        return b""


def is_shallow(root: str) -> bool:
    """Whether ``root`` is a shallow clone (``git clone --depth``, actions/checkout's default): its history is cut."""
    result = run(["rev-parse", "--is-shallow-repository"], cwd=root)
    return result.returncode == 0 and result.stdout.strip() == b"true"


def require_full_history(root: str, command: str) -> None:
    """Refuse to walk a cut history: a shallow clone would show part of it as if it were all."""
    if is_shallow(root):
        raise FatalError(f"this is a shallow clone, so its git history is cut short; `prompthooks {command}` needs all of it: {FULL_HISTORY_FIX}")


def has_commits(root: str) -> bool:
    return run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd=root).returncode == 0


def require_commits(root: str, command: str) -> None:
    if not has_commits(root):
        raise FatalError(f"this repository has no commits yet; `prompthooks {command}` reads committed prompts: commit first")


def resolve_commit(repo: Repo, ref: str) -> str:
    """The full sha of ``ref``; a revision that is not there, or is cut off by a shallow clone, is one clear line."""
    import git

    root = str(repo.working_tree_dir or repo.git_dir)
    # git itself, not GitPython: GitPython resolves `HEAD~1` of a shallow clone to a commit it cannot read.
    result = run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], cwd=root)
    if result.returncode == 0:
        return result.stdout.decode().strip()
    if not has_commits(root):
        raise FatalError("this repository has no commits yet; commit your prompts first")
    if is_shallow(root):
        raise FatalError(f"unknown git revision {ref!r}: this is a shallow clone, so older commits are missing; {FULL_HISTORY_FIX}")
    try:
        return repo.commit(ref).hexsha  # forms git's rev-parse does not take
    except (git.BadName, ValueError, git.GitCommandError):
        raise FatalError(f"unknown git revision {ref!r}") from None


def blob_at(repo: Repo, commit: str, path: str) -> bytes | None:
    """The bytes of ``path`` in ``commit``'s tree, or None when it has no such file."""
    try:
        blob = repo.commit(commit).tree / path
    except KeyError:
        return None
    if blob.type != "blob":
        return None
    data: bytes = blob.data_stream.read()
    return data


class TreeFile(NamedTuple):
    mode: int
    blob: Blob

    def read(self) -> bytes:
        data: bytes = self.blob.data_stream.read()
        return data


def tree_files(repo: Repo, commit: str) -> dict[str, TreeFile]:
    """Every file in ``commit``'s tree by ``/``-separated path, each tree parsed once.

    (``tree / path`` per file parses the folders on the way every time: quadratic on a large folder.)
    """
    from git import Blob

    files: dict[str, TreeFile] = {}
    for item in repo.commit(commit).tree.traverse():
        if isinstance(item, Blob):
            files[str(item.path)] = TreeFile(item.mode, item)
    return files


def _folders(paths: list[str]) -> list[str]:
    """The folders holding ``paths``, none inside another (the repository itself for a file at its top)."""
    folders = sorted({path.rpartition("/")[0] or "." for path in paths})
    if "." in folders:
        return ["."]
    kept: list[str] = []
    for folder in folders:  # sorted: a folder comes right before the folders inside it
        if not kept or not folder.startswith(kept[-1] + "/"):
            kept.append(folder)
    return kept


def last_changes(root: str, commit: str, paths: list[str]) -> dict[str, CommitInfo]:
    """For each path, the newest commit up to ``commit`` that changed it.

    One ``git log`` of the paths' folders, read as it comes and stopped once every path
    is found: a fresh clone's long history is read no further back than its answers
    (a pathspec of every path would cost git a comparison per path at every commit).
    """
    wanted = set(paths)
    found: dict[str, CommitInfo] = {}
    if not wanted:
        return found
    command = ["git", "-c", "core.quotePath=false", "log", commit, "--format=%x01%H%x00%an%x00%aI%x00%s", "--name-only", "--no-renames", "--", *_folders(paths)]
    try:
        process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        raise FatalError("git is not installed or not on PATH") from None
    assert process.stdout is not None
    info: CommitInfo | None = None
    with process:
        for line in process.stdout:
            text = line.decode("utf-8", "surrogateescape").rstrip("\n")
            if text.startswith("\x01"):
                info = CommitInfo(*text[1:].split("\x00", 3))
            elif text in wanted and text not in found and info is not None:
                found[text] = info
                if len(found) == len(wanted):
                    process.kill()
                    break
    return found


def _info(commit: object) -> CommitInfo:
    from git import Commit

    assert isinstance(commit, Commit)
    return CommitInfo(commit.hexsha, str(commit.author.name), commit.authored_datetime.isoformat(), str(commit.summary))


def file_history(repo: Repo, ref: str, path: str) -> list[tuple[CommitInfo, bytes | None]]:
    """Every commit up to ``ref`` that changed ``path``, oldest first, with the file's bytes there (None: deleted)."""
    history: list[tuple[CommitInfo, bytes | None]] = []
    for commit in repo.iter_commits(ref, paths=path, reverse=True):
        try:
            data: bytes | None = (commit.tree / path).data_stream.read()
        except KeyError:
            data = None
        history.append((_info(commit), data))
    return history


def default_branch_base(repo: Repo) -> str:
    """The merge-base of HEAD with the default branch (origin's HEAD, main or master), else HEAD~1."""
    import git

    root = str(repo.working_tree_dir or repo.git_dir)
    if not has_commits(root):
        raise FatalError("this repository has no commits yet, so there is nothing to compare with: commit first")
    if is_shallow(root):
        raise FatalError(f"this is a shallow clone, so the base of this branch is not known; name it (`prompthooks diff BASE`) or {FULL_HISTORY_FIX}")
    candidates = []
    try:
        candidates.append(repo.git.symbolic_ref("refs/remotes/origin/HEAD", "--short"))
    except git.GitCommandError:
        pass
    candidates += ["origin/main", "origin/master", "main", "master"]
    for branch in candidates:
        try:
            base = repo.git.merge_base("HEAD", branch)
        except git.GitCommandError:
            continue
        if base != repo.head.commit.hexsha:
            return str(base)
    if run(["rev-parse", "--verify", "--quiet", "HEAD~1^{commit}"], cwd=root).returncode != 0:
        raise FatalError("HEAD is the first commit, so there is no earlier one to compare with; name a BASE revision")
    return resolve_commit(repo, "HEAD~1")


def clean_environment() -> dict[str, str]:
    """The environment for running git in *another* repository (tests, benchmarks)."""
    return {key: value for key, value in os.environ.items() if key not in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE")}
