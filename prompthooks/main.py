"""The ``prompthooks`` command line: one function per subcommand, errors handled once."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from prompthooks import __version__
from prompthooks.errors import FatalError, FatalErrors

EXIT_UNEXPECTED = 3
EXIT_INTERRUPTED = 130


def _open_workspace(args: argparse.Namespace) -> object:
    from prompthooks import config, git, workspace
    from prompthooks.cache import Cache

    checkout = git.find_checkout()
    os.chdir(checkout.root)
    cache_path = None if args.no_cache else os.path.join(checkout.git_dir, "prompthooks", "cache")
    return workspace.load(checkout.root, config.load(checkout.root), Cache(cache_path))


def _lock(args: argparse.Namespace) -> int:
    from prompthooks.commands.lock import lock

    return lock(_open_workspace(args), quiet=args.quiet)  # type: ignore[arg-type]


def _check(args: argparse.Namespace) -> int:
    from prompthooks.commands.check import check

    return check(_open_workspace(args), quiet=args.quiet)  # type: ignore[arg-type]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prompthooks",
        description="Version prompt templates in git and mirror them into the MLflow Prompt Registry.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def hook_command(name: str, help_: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_, description=help_)
        command.add_argument("-q", "--quiet", action="store_true", help="print nothing; only the exit code tells")
        command.add_argument("--no-cache", action="store_true", help="ignore and do not update the cache under .git/")
        return command

    hook_command(
        "lock", "hash every prompt into prompts.lock and bump changed versions; exit 1 when anything was written"
    ).set_defaults(run=_lock)
    hook_command("check", "exit 1 when prompts.lock or a front matter is stale; never writes").set_defaults(run=_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result: int = args.run(args)
        return result
    except FatalError as error:
        located = error.path is not None or isinstance(error, FatalErrors)
        print(str(error) if located else f"prompthooks: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("prompthooks: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug: say so, with the traceback, and exit apart from expected failures
        traceback.print_exc()
        print(f"prompthooks: unexpected error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_UNEXPECTED
