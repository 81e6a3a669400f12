"""``python -m core users add|list|remove|passwd|set``: accounts for multi-user mode.

Passwords are read from standard input (``--password-stdin``: the first line, without its line
break), never from the command line where other users and the shell history could see them, and
are never printed. The last stdout line is JSON; bad input exits 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import sys

from core.auth import accounts
from core.errors import InputError

HELP = "accounts for multi-user mode: add, list, remove, passwd, set (MEDLENS_AUTH=accounts)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    add = actions.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", required=True, help="annotator, reviewer or admin")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--oidc", metavar="ID", help="link an OIDC identity (the provider's sub or the e-mail)")
    actions.add_parser("list", help="every account (never the password hashes)")
    remove = actions.add_parser("remove", help="delete an account")
    remove.add_argument("name")
    passwd = actions.add_parser("passwd", help="set a new password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", required=True,
                        help="read the password from standard input")
    change = actions.add_parser("set", help="change role, disabled flag or OIDC identity")
    change.add_argument("name")
    change.add_argument("--role")
    state = change.add_mutually_exclusive_group()
    state.add_argument("--disable", action="store_true")
    state.add_argument("--enable", action="store_true")
    change.add_argument("--oidc", metavar="ID", help="link an OIDC identity ('' unlinks)")


def read_password(stream=None) -> str:  # type: ignore[no-untyped-def]
    """The first line of standard input without its line break; empty is refused."""
    line = (stream or sys.stdin).readline()
    password = line[:-1] if line.endswith("\n") else line
    password = password[:-1] if password.endswith("\r") else password
    if not password:
        raise InputError("the password is empty (give it on standard input with --password-stdin)")
    return password


def run(args: argparse.Namespace) -> dict:
    if args.action == "add":
        accounts.check_name(args.name)
        accounts.check_role(args.role)
        password = read_password() if args.password_stdin else None
        return {"user": accounts.add_user(args.name, args.role, password=password, external_id=args.oidc).to_json()}
    if args.action == "list":
        return {"users": [user.to_json() for user in accounts.list_users()]}
    if args.action == "remove":
        accounts.remove_user(args.name)
        return {"removed": args.name}
    if args.action == "passwd":
        accounts.check_name(args.name)
        if accounts.get_user(args.name) is None:
            raise InputError(f"no user {args.name!r}")
        accounts.set_password(args.name, read_password())
        return {"user": args.name, "password": "changed"}
    disabled = True if args.disable else False if args.enable else None
    return {"user": accounts.update_user(args.name, role=args.role, disabled=disabled,
                                         external_id=args.oidc).to_json()}
