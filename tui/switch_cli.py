"""``orgtop switch``, ``orgtop exec`` and ``orgtop profiles``.

``switch`` starts a shell as a role, opens the console or prints export
lines. ``exec`` runs one command as a role and exits with its status.
``profiles`` writes AWS config profiles for every account and role. Results
go to stdout (export lines, URLs, diffs) and everything meant for the person
to stderr. A production account with a role that may write asks for a
confirmation first. Invalid input exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
import webbrowser
from collections.abc import Sequence
from pathlib import Path

from collectors.model import Account
from collectors.switch.profiles import (
    ProfileFileError,
    build_entries,
    newline_of,
    read_config,
    render_block,
    replace_block,
    sections_outside,
    unified_diff,
    write_config,
)
from collectors.switch.roles import (
    OfferedRole,
    SwitchError,
    choose_role,
    find_account,
    production_question,
)
from collectors.switch.session import RoleSwitch
from collectors.switch.settings import parse_duration
from tui.runtime import Options, Runtime
from tui.switch_service import SwitchService, describe_roles

COMMANDS = ("switch", "exec", "profiles")
USAGE_ERROR = 2
DECLINED = 1
TEXT_BROWSERS = frozenset({"www-browser", "links", "links2", "elinks", "lynx", "w3m"})


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the ``switch``, ``exec`` and ``profiles`` subcommands."""
    switch = commands.add_parser(
        "switch",
        parents=[common],
        help="shell, console or exports as a role",
        description="Assume a role in an account and start a shell with its "
        "credentials (default), open the AWS console, or print export lines.",
    )
    _target_arguments(switch)
    action = switch.add_mutually_exclusive_group()
    action.add_argument(
        "--shell",
        dest="action",
        action="store_const",
        const="shell",
        help="start $SHELL with the role's credentials (default)",
    )
    action.add_argument(
        "--console",
        dest="action",
        action="store_const",
        const="console",
        help="open the AWS console as the role",
    )
    action.add_argument(
        "--export",
        dest="action",
        action="store_const",
        const="export",
        help="print export lines for eval",
    )
    switch.add_argument(
        "--print-url",
        action="store_true",
        help="with --console: print the sign-in URL, open no browser",
    )

    run = commands.add_parser(
        "exec",
        parents=[common],
        help="run a command as a role",
        description="Assume a role in an account and run COMMAND with its "
        "credentials; exits with the command's status.",
        usage="orgtop exec [options] ACCOUNT -- COMMAND [ARG ...]",
    )
    _target_arguments(run)

    profiles = commands.add_parser(
        "profiles",
        parents=[common],
        help="write AWS config profiles for every role",
        description="Generate one AWS config profile per account and role you may "
        "assume, in a marked block of the AWS config file. Prints the diff "
        "unless --write is given.",
    )
    profiles.add_argument(
        "--write",
        action="store_true",
        help="write the file (a backup of the old one is kept)",
    )
    profiles.add_argument(
        "--file",
        type=Path,
        metavar="PATH",
        help="AWS config file (default: $AWS_CONFIG_FILE or ~/.aws/config)",
    )
    profiles.add_argument(
        "--remove", action="store_true", help="take orgtop's block out of the file"
    )
    profiles.add_argument(
        "--read-only",
        action="store_true",
        help="generate profiles for read-only roles only",
    )


def _target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "account",
        metavar="ACCOUNT",
        help="account name, id or an unambiguous prefix of either",
    )
    parser.add_argument("--role", metavar="ROLE", help="role name (asked when several)")
    parser.add_argument(
        "--duration",
        metavar="TIME",
        help="session length, e.g. 8h or 90m (clamped to the role's maximum)",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="offer read-only roles only"
    )
    parser.add_argument(
        "--yes", action="store_true", help="confirm a production switch without asking"
    )
    parser.add_argument(
        "--mfa-keyring",
        action="store_true",
        help="keep the MFA session in the OS keyring for later runs",
    )


def parse_args(
    parser: argparse.ArgumentParser, argv: Sequence[str]
) -> argparse.Namespace:
    """Parse ``argv``, taking what follows ``--`` after ``exec`` as its command."""
    words = list(argv)
    command: list[str] = []
    if "--" in words and "exec" in words[: words.index("--")]:
        split = words.index("--")
        words, command = words[:split], words[split + 1 :]
    args = parser.parse_args(words)
    args.command_line = command
    return args


async def run(args: argparse.Namespace, options: Options) -> int:
    """Run one of :data:`COMMANDS` and return the exit status."""
    if args.command == "exec" and not args.command_line:
        return _fail(
            "exec needs a command after --, e.g. orgtop exec ACCOUNT -- aws s3 ls"
        )
    duration = None
    if getattr(args, "duration", None):
        try:
            duration = parse_duration(args.duration)
        except ValueError as error:
            return _fail(str(error))
    if (
        args.command == "profiles"
        and options_demo(options)
        and args.write
        and not args.file
    ):
        return _fail(
            "the demo's profiles would go into your real AWS config; add --file PATH"
        )
    runtime = Runtime(options, mfa_callback=prompt_mfa)
    try:
        keyring = True if getattr(args, "mfa_keyring", False) else None
        service = SwitchService(runtime, use_keyring=keyring)
        if args.command == "profiles":
            return await _profiles(service, args)
        return await _switch(service, args, duration)
    except SwitchError as error:
        return _fail(str(error))
    except ProfileFileError as error:
        return _fail(str(error))
    finally:
        await runtime.close()


def options_demo(options: Options) -> bool:
    """Return whether the options request the demo world."""
    return options.demo or bool(options.demo_scenario) or bool(options.demo_accounts)


async def _switch(
    service: SwitchService, args: argparse.Namespace, duration: int | None
) -> int:
    accounts = await service.accounts()
    _notify(service.take_notices())
    account = find_account(accounts, args.account)
    role = _pick_role(service, account, args)
    question = production_question(service.config, account, role)
    if question and not args.yes and not await _confirm(question):
        _say("not switched")
        return DECLINED
    switched = await service.switch(account, role, duration)
    _notify([*service.take_notices(), *switched.notices])
    if args.command == "exec":
        return await _run_child(args.command_line, switched)
    action = args.action or "shell"
    if action == "export":
        if service.runtime.demo:
            _say(
                "the demo world stops when this command ends, so these credentials "
                "work only inside `orgtop exec --demo` or "
                "`orgtop switch --demo --shell`"
            )
        _out(
            f"# orgtop: {role.name} in {account.name} ({account.id}) "
            f"until {switched.expires_at}\n"
        )
        _out(switched.export_lines())
        return 0
    if action == "console":
        return await _console(service, switched, args.print_url)
    return await _shell(switched)


def _pick_role(
    service: SwitchService, account: Account, args: argparse.Namespace
) -> OfferedRole:
    read_only = args.read_only or service.config.switch.read_only
    roles = service.roles(account, read_only=read_only)
    name = args.role
    if not name and len(roles) > 1 and sys.stdin.isatty():
        name = _ask_role(roles, account)
    return choose_role(
        roles,
        name,
        account,
        region=service.config.home_region,
        read_only=read_only,
        access_map=service.uses_access_map(account),
    )


def _ask_role(roles: Sequence[OfferedRole], account: Account) -> str | None:
    _say(f"roles you may assume in {account.name}:")
    for number, line in enumerate(describe_roles(roles), start=1):
        _say(f"  {number}. {line}")
    answer = _read_line(f"role [1-{len(roles)}]: ")
    if answer and answer.isdigit() and 1 <= int(answer) <= len(roles):
        return roles[int(answer) - 1].name
    return answer or None


async def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise SwitchError(
            f"{question}\nconfirmation needed: run in a terminal or pass --yes"
        )
    answer = await asyncio.to_thread(_read_line, f"{question} [y/N] ")
    return (answer or "").lower() in ("y", "yes")


async def prompt_mfa(serial: str) -> str | None:
    """Ask for an MFA code on the terminal, not echoed; None without a terminal."""
    if not sys.stdin.isatty():
        return None
    prompt = f"orgtop: MFA code for {serial}: "
    try:
        code = await asyncio.to_thread(getpass.getpass, prompt, sys.stderr)
    except EOFError:
        return None
    return code.strip()


async def _run_child(command: Sequence[str], switched: RoleSwitch) -> int:
    """Run ``command`` with the role's environment; return its exit status.

    The demo world serves from this process, so it stays up until the child
    exits. Ctrl-C reaches the child (same terminal) and is ignored here.
    """
    environment = switched.child_environment(os.environ)
    loop = asyncio.get_running_loop()
    try:
        process = await asyncio.create_subprocess_exec(*command, env=environment)
    except FileNotFoundError:
        return _fail(f"command not found: {command[0]}", 127)
    except PermissionError:
        return _fail(f"command not executable: {command[0]}", 126)
    loop.add_signal_handler(signal.SIGINT, lambda: None)
    try:
        status = await process.wait()
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    return 128 - status if status < 0 else status


async def _shell(switched: RoleSwitch) -> int:
    shell = os.environ.get("SHELL") or "/bin/sh"
    account = switched.account
    _say(
        f"starting {shell} as {switched.role.name} in {account.name} ({account.id}, "
        f"{account.env}) until {switched.expires_at}; exit to return"
    )
    status = await _run_child([shell], switched)
    _say(f"left the {account.name} shell")
    return status


async def _console(
    service: SwitchService, switched: RoleSwitch, print_only: bool
) -> int:
    url = await service.console_url(switched)
    target = f"{switched.role.name} in {switched.account.name}"
    if not print_only and open_in_browser(url):
        _say(f"opened the AWS console as {target} in the browser")
    else:
        _out(url + "\n")
        _say(
            f"open this URL within 15 minutes to use the console as {target}; "
            "it signs in without a password, so share it with no one"
        )
    if service.runtime.demo and sys.stdin.isatty():
        await asyncio.to_thread(
            _read_line,
            "the demo's sign-in endpoint runs inside orgtop; press Enter to stop it ",
        )
    return 0


def open_in_browser(url: str) -> bool:
    """Open ``url`` in a graphical browser or ``$BROWSER``; False if there is none."""
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    name = getattr(browser, "name", "")
    if not os.environ.get("BROWSER") and name in TEXT_BROWSERS:
        return False
    return bool(browser.open(url, new=2))


async def _profiles(service: SwitchService, args: argparse.Namespace) -> int:
    path = (
        args.file
        or Path(os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config").expanduser()
    )
    text = read_config(path)
    block = None
    if not args.remove:
        accounts = await service.accounts()
        source, serial = service.profile_source()
        read_only = args.read_only or service.config.switch.read_only
        entries, notices = build_entries(
            accounts,
            lambda account: service.roles(account, read_only=read_only),
            pattern=service.config.switch.profile_name,
            source_profile=source,
            mfa_serial=serial,
            region=service.config.home_region,
            existing_names=sections_outside(text),
        )
        _notify([*service.take_notices(), *notices])
        if not entries:
            _say("no account offers a role you may assume; the block will be empty")
        block = render_block(entries, newline_of(text))
    updated = replace_block(text, block)
    if updated == text:
        _say(f"{path}: orgtop's profiles are up to date")
        return 0
    if not args.write:
        _out(unified_diff(text, updated, path))
        _say("nothing written; run again with --write to apply")
        return 0
    backup = write_config(path, updated)
    saved = f"; the old file is saved as {backup}" if backup else ""
    _say(f"updated orgtop's profiles in {path}{saved}")
    return 0


def _read_line(prompt: str) -> str | None:
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    return line.strip() if line else None


def _notify(notices: Sequence[str]) -> None:
    for notice in notices:
        _say(f"notice: {notice}")


def _say(message: str) -> None:
    sys.stderr.write(f"orgtop: {message}\n")


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _fail(message: str, status: int = USAGE_ERROR) -> int:
    sys.stderr.write(f"orgtop: error: {message}\n")
    return status
