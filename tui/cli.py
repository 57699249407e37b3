"""The ``orgtop`` command line: the TUI by default, plus ``collect`` and ``check``.

Every command takes ``--demo`` and ``--config``. Invalid input exits 2 with
one message, except ``check``, which exits 3 (unknown) as monitoring plugins
do. No traceback reaches the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from collectors import __version__
from collectors.check import evaluate
from collectors.errors import ConfigError, CredentialError, RefreshError
from collectors.model import Severity
from collectors.store import StoreError
from tui import logs, switch_cli
from tui.runtime import Options, Runtime, SnapshotNotSaved

USAGE_ERROR = 2
MIN_DEMO_ACCOUNTS = 8
MAX_DEMO_ACCOUNTS = 5000
"""Beyond this the demo world's seeding and memory grow past a laptop's patience."""


def _common(*, in_command: bool = False) -> argparse.ArgumentParser:
    """Build the options every command accepts, before or after its name.

    A subcommand's parser writes its own defaults over values parsed before
    the command name, so there the defaults are SUPPRESS: ``orgtop --demo
    collect`` and ``orgtop collect --demo`` mean the same.
    """
    common = argparse.ArgumentParser(
        add_help=False,
        argument_default=argparse.SUPPRESS if in_command else None,
    )
    group = common.add_argument_group("common options")
    group.add_argument(
        "--demo",
        action="store_true",
        help="run against the embedded demo organization on 127.0.0.1",
    )
    group.add_argument(
        "--demo-scenario",
        type=Path,
        metavar="FILE",
        help="demo organization from this scenario file (implies --demo)",
    )
    group.add_argument(
        "--demo-accounts",
        type=int,
        metavar="N",
        help="generated demo organization of about N accounts (implies --demo)",
    )
    group.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="config file (default: config.toml in the user config directory)",
    )
    group.add_argument(
        "--store",
        type=Path,
        metavar="PATH",
        help="SQLite snapshot store (default: in the user data directory)",
    )
    group.add_argument(
        "--offline",
        action="store_true",
        help="read the latest stored snapshot; make no AWS call",
    )
    group.add_argument(
        "--mfa-code",
        metavar="CODE",
        help="6-digit MFA code for the source profile, for runs without a terminal",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="orgtop",
        description="Terminal dashboard for an AWS Organization: cost, quotas, "
        "Datadog metrics and access across every account.",
        parents=[_common()],
    )
    common = _common(in_command=True)
    parser.add_argument("--version", action="version", version=f"orgtop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    collect = commands.add_parser(
        "collect",
        parents=[common],
        help="run one refresh and store it",
        description="Run one refresh, store the snapshot and print a summary or "
        "the JSON document. Exits 0 when every account was collected and the "
        "snapshot stored, 1 when an account failed or the store could not be written.",
    )
    collect.add_argument(
        "--json", action="store_true", help="print the snapshot document as JSON"
    )
    collect.add_argument(
        "--force",
        action="store_true",
        help="ignore cached data (cost, quota values) and ask again",
    )

    check = commands.add_parser(
        "check",
        parents=[common],
        help="evaluate alert rules, exit 0/1/2/3",
        description="Run a refresh and evaluate every alert rule. Exit status as "
        "monitoring plugins use it: 0 OK, 1 warning, 2 critical, 3 unknown.",
    )
    check.add_argument("--json", action="store_true", help="print alerts as JSON")
    switch_cli.add_commands(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    parser = build_parser()
    args = switch_cli.parse_args(parser, sys.argv[1:] if argv is None else argv)
    logs.setup()
    options = Options(
        demo=args.demo,
        demo_scenario=args.demo_scenario,
        demo_accounts=args.demo_accounts or 0,
        config=args.config,
        store=args.store,
        offline=args.offline,
        mfa_code=args.mfa_code,
    )
    failure_status = 3 if args.command == "check" else USAGE_ERROR
    if options.mfa_code is not None and not (
        len(options.mfa_code) == 6 and options.mfa_code.isdigit()
    ):
        return _fail("--mfa-code must be 6 digits", failure_status)
    demo_accounts = args.demo_accounts
    if (
        demo_accounts is not None
        and not MIN_DEMO_ACCOUNTS <= demo_accounts <= MAX_DEMO_ACCOUNTS
    ):
        return _fail(
            f"--demo-accounts must be between {MIN_DEMO_ACCOUNTS} and "
            f"{MAX_DEMO_ACCOUNTS}, got {demo_accounts}",
            failure_status,
        )
    try:
        if args.command is None:
            return _run_tui(options)
        if options.demo or options.demo_scenario or options.demo_accounts:
            options.mfa_code = options.mfa_code or "123456"
        return asyncio.run(_run_command(args, options))
    except ConfigError as error:
        return _fail(str(error), failure_status)
    except (CredentialError, StoreError) as error:
        return _fail(str(error), failure_status)
    except RefreshError as error:
        return _fail(str(error), 3 if args.command == "check" else 1)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0


def _fail(message: str, status: int) -> int:
    print(f"orgtop: error: {message}", file=sys.stderr)
    return status


def _run_tui(options: Options) -> int:
    from tui.app import run_app

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return _fail(
            "the dashboard needs a terminal; in scripts and pipes use "
            "`orgtop collect --json` or `orgtop check`",
            USAGE_ERROR,
        )
    return run_app(options)


async def _run_command(args: argparse.Namespace, options: Options) -> int:
    if args.command in switch_cli.COMMANDS:
        return await switch_cli.run(args, options)
    runtime = Runtime(options)
    not_saved = False
    try:
        if options.offline:
            snapshot = runtime.latest()
            if snapshot is None:
                raise StoreError(
                    f"no snapshot in {runtime.store_path}; run `orgtop collect` first"
                )
        else:
            previous = runtime.latest()
            try:
                snapshot = await runtime.refresh(
                    previous, force=getattr(args, "force", False)
                )
            except SnapshotNotSaved as error:
                # The data is still printed and checked; `collect` exits 1
                # because storing it was its job.
                snapshot, not_saved = error.snapshot, True
                runtime.store_warnings = [
                    w for w in runtime.store_warnings if w != str(error)
                ] + [f"snapshot not saved: {error}"]
        _print_store_warnings(runtime)
        if args.command == "collect":
            status = _print_collect(snapshot, args.json, options.offline)
            return max(status, 1) if not_saved else status
        return _print_check(snapshot, runtime, args.json)
    finally:
        await runtime.close()


def _print_store_warnings(runtime: Runtime) -> None:
    for warning in runtime.warnings():
        print(f"orgtop: warning: {warning}", file=sys.stderr)


def _print_collect(snapshot: object, as_json: bool, offline: bool = False) -> int:
    from collectors.snapshot import Snapshot

    assert isinstance(snapshot, Snapshot)
    if as_json:
        json.dump(snapshot.to_document(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif offline:
        print(
            f"stored snapshot of {snapshot.generated_at:%Y-%m-%d %H:%M} UTC: "
            f"{len(snapshot.accounts)} accounts, {len(snapshot.errors)} errors"
        )
    else:
        stats = snapshot.stats
        print(
            f"collected {len(snapshot.accounts)} accounts, {len(snapshot.errors)} errors, "
            f"{stats.get('requests_total', 0)} requests in {stats.get('wall_seconds', 0)} s"
        )
        for error in snapshot.errors:
            print(
                f"  {error.account_id} {error.region or '-'} {error.collector}: "
                f"{error.kind} {error.operation} {error.message}"
            )
    return 1 if snapshot.errors else 0


def _print_check(snapshot: object, runtime: Runtime, as_json: bool) -> int:
    from collectors.snapshot import Snapshot

    assert isinstance(snapshot, Snapshot)
    result = evaluate(snapshot, runtime.config)
    if as_json:
        document = {
            "status": result.status.name.lower(),
            "exit_code": int(result.status),
            "alerts": [alert.to_dict() for alert in result.alerts],
        }
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(result.summary())
        for alert in result.alerts:
            print(f"{alert.severity.name}: {alert.summary}")
    return int(result.status) if result.status is not Severity.OK else 0


if __name__ == "__main__":
    sys.exit(main())
