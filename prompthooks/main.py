"""The ``prompthooks`` command line: one function per subcommand, errors handled once."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

from prompthooks import __version__
from prompthooks.errors import FatalError, FatalErrors

if TYPE_CHECKING:
    from prompthooks.workspace import Workspace

EXIT_UNEXPECTED = 3
HELP_WIDTH = 88
EXIT_INTERRUPTED = 130
EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for `git log | head -1`


def _run_hook(args: argparse.Namespace, command: Callable[[Workspace], int], *, written: dict[str, bytes] | None = None) -> int:
    """Run ``lock`` or ``check``; an unchanged repository is answered from the last known state, or the cache's fingerprint.

    ``written``: the command writes the lock and the front matters it plans (``lock``), and puts what it wrote here.
    """
    from prompthooks import config, git, inputs, knownstore, lockpatch
    from prompthooks.cache import FORMAT, Cache

    checkout = git.find_checkout()
    cwd = os.getcwd()
    os.chdir(checkout.root)
    cache = Cache(None) if args.no_cache else Cache.of_checkout(checkout.git_dir, checkout.common_dir)
    base = getattr(args, "base", None)
    configured = config.load(checkout.root)
    current_lock = inputs.read_lock(configured)
    loaded: list[knownstore.Known | None] = []

    def load_known() -> None:
        if not loaded:
            loaded.append(lockpatch.known_state(cache, current_lock))

    # After a run that found nothing to do, a changed index most likely holds a prompt changed since (after one
    # that wrote files, most likely those files): the known state, and what reading that prompt imports, are
    # loaded while the files are listed.
    reading_soon = (load_known, *READING_IMPORTS) if not base and knownstore.passed(cache) else ()
    collected = inputs.collect(
        checkout.root, configured, checkout.git_dir, cache, current_lock=current_lock, meanwhile=reading_soon, waiting=() if base else (load_known,)
    )
    known = None if base else loaded[0] if loaded else lockpatch.known_state(cache, current_lock)
    since = lockpatch.since(collected, known)  # only the files changed since a known state, when it applies
    if since is not None and since.clean(collected):
        return 0
    fingerprint = collected.fingerprint(FORMAT) if not base and since is None else None  # megabytes in a monorepo: only when used
    if fingerprint is not None and cache.is_known_clean(fingerprint):
        return 0
    evaluated = lockpatch.evaluate(collected, cache, since) if since is not None else None
    if evaluated is None:
        from prompthooks import workspace  # parsing, planning and rendering every prompt

        evaluated = workspace.evaluate(collected, cache)
    if not args.quiet:
        for note in evaluated.notes:
            print(f"prompthooks: note: {note}")
    code = command(evaluated)
    code |= _staging(evaluated, checkout.root, cwd, quiet=args.quiet)
    if base:
        from prompthooks import basecheck

        code |= basecheck.report(checkout.root, base, evaluated, cache, quiet=args.quiet)
    lockpatch.remember(cache, collected, evaluated, written=written, passed=code == 0)
    if code == 0 and not cache.is_racy(collected.newest_mtime_ns()):
        cache.remember_clean(fingerprint if fingerprint is not None else collected.fingerprint(FORMAT))
    return code


def _prepare_jinja() -> None:
    from prompthooks import variables

    variables.prepare_jinja()


def _import_yaml() -> None:
    import yaml  # noqa: F401


def _import_semver() -> None:
    import semver  # noqa: F401


def _import_planning() -> None:
    from prompthooks import lockdelta, lockplan, promptfile, versionguard, workspace  # noqa: F401
    from prompthooks.commands import lock  # noqa: F401


# What reading a changed prompt imports, the largest first: done while a child lists and stats the files (``inputs.collect``).
READING_IMPORTS: Final = (_prepare_jinja, _import_yaml, _import_semver, _import_planning)


def _staging(evaluated: Workspace, root: str, cwd: str, *, quiet: bool) -> int:
    from prompthooks import staging

    found = staging.problem(evaluated, root, cwd)
    if found is not None and not quiet:
        print(found)
    return 0 if found is None else 1


def _lock(args: argparse.Namespace) -> int:
    invoked_from = os.getcwd()  # the hook works from the root; its `git add` hint must work where the user is

    def lock(workspace: Workspace) -> int:
        from prompthooks.commands.lock import lock

        return lock(workspace, quiet=args.quiet, cwd=invoked_from, written_into=written)

    written: dict[str, bytes] = {}
    return _run_hook(args, lock, written=written)


def _check(args: argparse.Namespace) -> int:
    def check(workspace: Workspace) -> int:
        from prompthooks.commands.check import check

        return check(workspace, quiet=args.quiet)

    return _run_hook(args, check)


def _sync(args: argparse.Namespace) -> int:
    from prompthooks import git
    from prompthooks.commands.sync import Options, sync

    checkout = git.find_checkout()
    options = Options(args.tracking_uri, args.ref, args.dry_run, args.json, args.timeout, args.jobs, args.backfill)
    return sync(checkout.root, options)


def _log(args: argparse.Namespace) -> int:
    from prompthooks import git
    from prompthooks.commands.log import log

    return log(git.find_checkout().root, args.name, ref=args.ref, as_json=args.json)


def _show(args: argparse.Namespace) -> int:
    from prompthooks import git
    from prompthooks.commands.show import show

    return show(git.find_checkout().root, args.spec, ref=args.ref, flattened=args.flattened)


def _diff(args: argparse.Namespace) -> int:
    from prompthooks import git
    from prompthooks.commands.diff import diff

    return diff(git.find_checkout().root, args.base, args.target, output=args.format, check_bumps=args.check_bumps)


def _uri(args: argparse.Namespace) -> int:
    from prompthooks import git
    from prompthooks.commands.uri import uri

    return uri(git.find_checkout().root, args.spec, ref=args.ref, tracking_uri=args.tracking_uri)


def _merge_lock(args: argparse.Namespace) -> int:
    from prompthooks.commands.merge import merge_lock

    return merge_lock(args.base, args.ours, args.theirs, args.path)


def _install(args: argparse.Namespace) -> int:
    from prompthooks import git
    from prompthooks.commands.merge import install

    return install(git.find_checkout().root)


def _deploy(args: argparse.Namespace) -> int:
    from prompthooks import git
    from prompthooks.commands.deploy import Options, deploy

    options = Options(
        args.environment, args.tracking_uri, args.ref, args.dry_run, args.json, args.timeout, args.jobs,
        args.variant, args.weight, args.promote, args.end_split,
    )
    return deploy(git.find_checkout().root, options)


def _rollback(args: argparse.Namespace) -> int:
    from prompthooks import git
    from prompthooks.commands.rollback import RollbackOptions, rollback

    options = RollbackOptions(args.environment, args.tracking_uri, args.to, args.ref, tuple(args.prompts), args.dry_run, args.json, args.timeout, args.jobs)
    return rollback(git.find_checkout().root, options)


def _status(args: argparse.Namespace) -> int:
    from prompthooks import git
    from prompthooks.commands.status import status

    return status(git.find_checkout().root, args.environments, args.tracking_uri, args.timeout, args.json)


def _deployments(args: argparse.Namespace) -> int:
    from prompthooks import git
    from prompthooks.commands.deployments import deployments

    return deployments(git.find_checkout().root, args.environment, args.tracking_uri, args.timeout, args.json)


def _export(args: argparse.Namespace) -> int:
    from prompthooks import git
    from prompthooks.commands.export import export

    return export(
        git.find_checkout().root, ref=args.ref, environment=args.env, output=args.format, prompt=args.prompt, name=args.name,
        path=args.output, tracking_uri=args.tracking_uri, timeout=args.timeout,
    )


def _ab(args: argparse.Namespace) -> int:
    from prompthooks import git
    from prompthooks.commands.ab import Options, ab

    output = "json" if args.json else args.format
    options = Options(
        args.environment, tuple(args.prompts), tuple(args.experiment), args.since, args.start, tuple(args.metric), args.tracking_uri, args.timeout, output
    )
    return ab(git.find_checkout().root, options)


class _HelpFormatter(argparse.HelpFormatter):
    """Help wrapped at a fixed width: sizing it to the terminal imports shutil (and its compression
    modules) each time a parser is built, on every hook run, for help that is rarely printed."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=HELP_WIDTH)


class _ArgumentParser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def _hook_command(commands: argparse._SubParsersAction[_ArgumentParser], name: str, help_: str) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help_, description=help_)
    command.add_argument("-q", "--quiet", action="store_true", help="print nothing; only the exit code tells")
    command.add_argument("--no-cache", action="store_true", help="ignore and do not update the cache under .git/")
    command.set_defaults(leave_at_once=True)
    return command


def _add_lock(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    _hook_command(
        commands, "lock", "hash every prompt into prompts.lock and bump changed versions; exit 1 when anything was written"
    ).set_defaults(run=_lock)


def _add_check(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    check = _hook_command(commands, "check", "exit 1 when prompts.lock or a front matter is stale; never writes")
    check.add_argument(
        "--base",
        metavar="REF",
        help="also fail when a version here is one REF's lock (or its history) gives other content, or is below REF's "
        "(e.g. origin/main on a pull request)",
    )
    check.set_defaults(run=_check)


def _add_sync(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    sync = commands.add_parser(
        "sync",
        help="register every committed lock entry the MLflow Prompt Registry lacks",
        description="Register every prompt version in the committed prompts.lock that the MLflow Prompt Registry "
        "lacks, reading prompts from git at --ref. Exit codes: 0 in sync, 1 conflicts or an invalid lock, "
        "4 registry unreachable or failing, 5 not authorized.",
    )
    sync.add_argument("--ref", default="HEAD", help="the git revision to sync (default: HEAD)")
    sync.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    sync.add_argument("--jobs", type=int, default=4, help="registrations in parallel (default: 4)")
    _registry_options(sync)
    sync.add_argument(
        "--backfill",
        action="store_true",
        help="register every version that ever appeared in the lock's history, oldest first, each from its own commit",
    )
    sync.set_defaults(run=_sync)


def _add_diff(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    diff = commands.add_parser(
        "diff",
        help="explain prompt changes between two revisions",
        description="For every prompt added, removed, renamed or changed between BASE (default: the merge-base with "
        "the default branch, else HEAD~1) and TARGET (default: the working tree, versioned as `prompthooks lock` "
        "would): versions, bump, variables, front matter and a diff of the template.",
    )
    diff.add_argument("base", nargs="?", metavar="BASE")
    diff.add_argument("target", nargs="?", metavar="TARGET")
    diff.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    diff.add_argument("--check-bumps", action="store_true", help="exit 1 when a version bump is smaller than its change needs")
    diff.set_defaults(run=_diff)


def _add_merge_lock(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    merge = commands.add_parser(
        "merge-lock",
        help="git merge driver for prompts.lock (see `prompthooks install`)",
        description="Three-way merge of prompts.lock, called by git as `prompthooks merge-lock %%O %%A %%B %%P`.",
    )
    merge.add_argument("base", metavar="BASE")
    merge.add_argument("ours", metavar="OURS")
    merge.add_argument("theirs", metavar="THEIRS")
    merge.add_argument("path", metavar="PATH", nargs="?")
    merge.set_defaults(run=_merge_lock)


def _add_install(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    commands.add_parser(
        "install",
        help="configure the prompts.lock merge driver",
        description="Configure the prompts.lock merge driver in .git/config and .gitattributes (idempotent).",
    ).set_defaults(run=_install)


def _add_log(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    log = commands.add_parser(
        "log",
        help="the version history of one prompt, newest first",
        description="The version history of one prompt from git: each version, its hash and the commit that introduced it, newest first.",
    )
    log.add_argument("name")
    log.add_argument("--ref", default="HEAD", help="history up to this revision (default: HEAD)")
    log.add_argument("--json", action="store_true", help="print JSON")
    log.set_defaults(run=_log)


def _add_show(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    show = commands.add_parser(
        "show",
        help="print a prompt as committed at a version",
        description="Print a prompt file exactly as it was committed at NAME@VERSION (default: the version locked at --ref).",
    )
    show.add_argument("spec", metavar="NAME[@VERSION]")
    show.add_argument("--ref", default="HEAD", help="look up to this revision (default: HEAD)")
    show.add_argument(
        "--flattened", action="store_true", help="print the self-contained template sync registers (includes, extends, partials inlined)"
    )
    show.set_defaults(run=_show)


def _add_uri(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    uri = commands.add_parser(
        "uri",
        help="print the MLflow URI (prompts:/NAME/7) of a prompt version",
        description="Print the MLflow URI of NAME at a semantic version (NAME@1.2.0), at an environment's alias "
        "(NAME@production), or at the version locked at --ref (NAME), found in one registry request. "
        "Exit codes: 1 not in the registry, 4 registry unreachable, 5 not authorized.",
    )
    uri.add_argument("spec", metavar="NAME[@SEMVER|@ENV]")
    _tracking_uri_option(uri)
    uri.add_argument("--ref", default="HEAD", help="the lock giving NAME's version when none is named (default: HEAD)")
    uri.set_defaults(run=_uri)


def _tracking_uri_option(command: argparse.ArgumentParser) -> None:
    command.add_argument("--tracking-uri", metavar="URI", help="default: $MLFLOW_TRACKING_URI, else a sqlite store in .prompthooks/")


def _registry_options(command: argparse.ArgumentParser, timeout: float = 600.0, *, as_json: bool = True) -> None:
    """The options every registry command shares, defined once."""
    _tracking_uri_option(command)
    command.add_argument("--timeout", type=float, default=timeout, metavar="SECONDS", help=f"overall deadline (default: {timeout:g})")
    if as_json:
        command.add_argument("--json", action="store_true", help="print one JSON document instead of lines")


def _add_deploy(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    deploy = commands.add_parser(
        "deploy",
        help="point environment ENV (an MLflow alias) at the versions locked at --ref, and record the deployment",
        description="Register what the registry lacks at --ref (as sync does), point alias ENV of every locked prompt at its "
        "version, remove ENV from prompts no longer locked, and record the deployment. Deploying the same ref twice moves "
        "nothing. With --variant/--weight: an A/B split; --promote and --end-split finish it. Exit codes: 0 deployed, "
        "1 conflict or an alias moved by another run meanwhile, 2 usage (an invalid ENV), 4 registry unreachable, 5 not authorized.",
    )
    deploy.add_argument("environment", metavar="ENV")
    deploy.add_argument("--ref", default="HEAD", help="the git revision to deploy (default: HEAD)")
    deploy.add_argument("--dry-run", action="store_true", help="print what would move; change nothing")
    deploy.add_argument("--jobs", type=int, default=4, help="registry requests in parallel (default: 4)")
    split = deploy.add_mutually_exclusive_group()
    split.add_argument("--variant", metavar="NAME", help="A/B split: point alias ENV-NAME at --ref's versions of the prompts that differ from ENV's")
    split.add_argument("--promote", metavar="NAME", help="make variant NAME ENV's version and end its split")
    split.add_argument("--end-split", action="store_true", help="drop ENV's splits: remove the variant aliases and split tags")
    deploy.add_argument("--weight", type=int, metavar="PERCENT", help="with --variant: the variant's share of traffic (1-99)")
    _registry_options(deploy)
    deploy.set_defaults(run=_deploy)


def _add_rollback(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    rollback = commands.add_parser(
        "rollback",
        help="return ENV to the previous deployment's versions (or --to DEPLOYMENT, or --ref REF)",
        description="Return environment ENV to the versions of its previous deployment, a named one (--to, an id or a prefix "
        "from `prompthooks deployments`), or a git ref; all prompts, or only those named. Reads deployment records, not git "
        "history. Recorded as a deployment with reason rollback.",
    )
    rollback.add_argument("environment", metavar="ENV")
    rollback.add_argument("prompts", nargs="*", metavar="PROMPT")
    target = rollback.add_mutually_exclusive_group()
    target.add_argument("--to", metavar="DEPLOYMENT", help="the deployment to return to (default: the one before the latest)")
    target.add_argument("--ref", metavar="REF", help="return to the versions locked at this git revision")
    rollback.add_argument("--dry-run", action="store_true", help="print what would move; change nothing")
    rollback.add_argument("--jobs", type=int, default=4, help="registry requests in parallel (default: 4)")
    _registry_options(rollback)
    rollback.set_defaults(run=_rollback)


def _add_status(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    status = commands.add_parser(
        "status",
        help="what each environment serves beside HEAD's lock, and drift (exit 1)",
        description="Per prompt, the version each environment serves beside the version locked at HEAD, and drift: an alias "
        "moved outside prompthooks, an alias on a version no deployment record knows, a served version whose registry text "
        "no longer hashes to its tag, a split naming a missing alias. Exit 1 on drift. Default: every environment with records.",
    )
    status.add_argument("environments", nargs="*", metavar="ENV")
    _registry_options(status, timeout=120.0)
    status.set_defaults(run=_status)


def _add_deployments(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    deployments = commands.add_parser(
        "deployments",
        help="the deployment history of ENV, newest first",
        description="Every recorded deployment of ENV, newest first: when, commit, ref, CI run, reason, what moved.",
    )
    deployments.add_argument("environment", metavar="ENV")
    _registry_options(deployments, timeout=120.0)
    deployments.set_defaults(run=_deployments)


def _add_export(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    export = commands.add_parser(
        "export",
        help="deploy manifest of prompt versions: env, dotenv, json or a Kubernetes ConfigMap",
        description="Print PROMPT_<NAME>_VERSION, PROMPT_<NAME>_HASH and PROMPTS_GIT_SHA (plus PROMPT_VERSION with --prompt) "
        "for the lock at --ref (git only, no registry), or for what environment --env serves (its aliases in the registry).",
    )
    source = export.add_mutually_exclusive_group()
    source.add_argument("--ref", help="the git revision whose lock to export (default: HEAD)")
    source.add_argument("--env", metavar="ENV", help="export what this environment serves, read from the registry")
    export.add_argument("--format", choices=("env", "dotenv", "json", "k8s"), required=True)
    export.add_argument("--prompt", metavar="NAME", help="one prompt only, with PROMPT_VERSION")
    export.add_argument("--name", default="prompts", help="the ConfigMap's metadata.name (default: prompts)")
    export.add_argument("-o", "--output", metavar="PATH", help="write here (only when the bytes change) instead of stdout")
    _registry_options(export, timeout=120.0, as_json=False)  # with --env
    export.set_defaults(run=_export)


def _add_ab(commands: argparse._SubParsersAction[_ArgumentParser]) -> None:
    ab = commands.add_parser(
        "ab",
        help="compare the arms of ENV's A/B splits on the MLflow traces linked to each arm, and say what to do next",
        description="For each prompt split in ENV (or the arms of its latest split record), read the MLflow traces linked to "
        "each arm's prompt version in the window: traces, error rate, latency, tokens and the mean of every feedback; each "
        "variant's difference from the main arm with a 95% interval, a verdict per prompt, and the next command "
        "(deploy --promote or --end-split). Exit codes: 0 whatever the verdict, 1 an experiment that does not exist, "
        "2 usage, 4 registry unreachable, 5 not authorized.",
    )
    ab.add_argument("environment", metavar="ENV")
    ab.add_argument("prompts", nargs="*", metavar="PROMPT", help="these prompts only (default: every prompt split in ENV)")
    ab.add_argument("--experiment", action="append", default=[], metavar="NAME|ID", help="where the traces are (repeat; default: every experiment)")
    window = ab.add_mutually_exclusive_group()
    window.add_argument("--since", metavar="DURATION", help="traces of the last 30m, 12h, 7d, 2w (default: since the split began)")
    window.add_argument("--from", dest="start", metavar="TIME", help="traces since this ISO 8601 time (UTC unless it says)")
    ab.add_argument(
        "--metric", action="append", default=[], metavar="NAME[:lower]",
        help="decide on this metric (repeat; default: every feedback and error_rate); :lower when smaller is better",
    )
    ab.add_argument("--format", choices=("text", "markdown"), default="text", help="markdown: for a pull-request comment or $GITHUB_STEP_SUMMARY")
    _registry_options(ab, timeout=300.0)
    ab.set_defaults(run=_ab)


SUBCOMMANDS: Final = {
    "lock": _add_lock,
    "check": _add_check,
    "sync": _add_sync,
    "diff": _add_diff,
    "log": _add_log,
    "show": _add_show,
    "uri": _add_uri,
    "merge-lock": _add_merge_lock,
    "install": _add_install,
    "deploy": _add_deploy,
    "rollback": _add_rollback,
    "status": _add_status,
    "deployments": _add_deployments,
    "export": _add_export,
    "ab": _add_ab,
}


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="prompthooks",
        description="Version prompt templates in git and mirror them into the MLflow Prompt Registry.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # An explicit prog spares add_subparsers a help formatter (and its imports) on every hook run.
    commands = parser.add_subparsers(prog="prompthooks", dest="command", metavar="COMMAND", required=True)
    # The hook runs on every commit: define only the subcommand asked for (all of them for --help or a typo).
    asked = SUBCOMMANDS.get(argv[0]) if argv else None
    for add in [asked] if asked else SUBCOMMANDS.values():
        add(commands)
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the prompthooks process: SIGTERM (a CI cancel, a pod stop) is handled as Ctrl-C, records finalized
        import signal

        signal.signal(signal.SIGTERM, _interrupt)
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = _parser(arguments)
    args, extra = parser.parse_known_args(arguments)
    if extra:
        # argparse cannot take positionals after options (`rollback production --to ID assistant`): rollback's PROMPTs may follow them.
        if getattr(args, "prompts", None) is None or any(item.startswith("-") for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.prompts = [*args.prompts, *extra]
    try:
        result: int = args.run(args)
        sys.stdout.flush()  # a reader that left early is found here, not at interpreter exit
        if argv is None and getattr(args, "leave_at_once", False):
            # The hook's process holds tens of thousands of small objects and the modules of the libraries it
            # imported; tearing them down costs more than answering an unchanged repository.  What it wrote is
            # closed, its children are reaped, and no library it uses has exit handlers: nothing is lost.
            sys.stderr.flush()
            os._exit(result)
        return result
    except BrokenPipeError:
        return _output_closed()
    except FatalError as error:
        located = error.path is not None or isinstance(error, FatalErrors)
        print(_redacted(args)(str(error) if located else f"prompthooks: error: {error}"), file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("prompthooks: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug: say so, with the traceback, and exit apart from expected failures
        import traceback

        redact = _redacted(args)
        print(redact(traceback.format_exc()), end="", file=sys.stderr)
        print(redact(f"prompthooks: unexpected error: {type(error).__name__}: {error}"), file=sys.stderr)
        return EXIT_UNEXPECTED


def _output_closed() -> int:
    """stdout's reader went away (``prompthooks log x | head -2``): stop quietly, as a process killed by SIGPIPE would.

    Python ignores SIGPIPE, so the write raised instead; stdout is pointed at devnull so
    the flush at exit does not raise again (the standard recipe of Python's signal docs).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_OUTPUT_CLOSED


def _redacted(args: argparse.Namespace) -> Callable[[str], str]:
    """Errors leave through here: every credential of the registry named by flag or environment is masked, once."""
    from prompthooks.secrets import Redactor

    uris = [getattr(args, "tracking_uri", None), os.environ.get("MLFLOW_TRACKING_URI"), os.environ.get("MLFLOW_REGISTRY_URI")]

    return Redactor([secret for uri in uris for secret in Redactor.for_tracking(uri or "").secrets])
