"""`grodt flatten`: ask the running daemon to pause entries and close every position now.

The daemon does it, not this command: it holds the store and the exchange's conversation, so
the exits are written before they are sent, reconciled and booked like any other order. The
command only carries the operator's word (with the control token) to
``POST /api/v1/control/flatten`` and prints the daemon's answer.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import urllib.error
import urllib.request

from grodtd.cli.common import EXIT_CONFIG, EXIT_FATAL, EXIT_OK, Commands, load

_WILDCARDS = {"0.0.0.0", "::", ""}


def cmd_flatten(args: argparse.Namespace) -> int:
    settings = load().settings
    token = settings.control_token
    if token is None:
        print(
            "grodt: flatten needs the daemon's control token: set GRODT_CONTROL_TOKEN_FILE "
            "(the file the daemon reads)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    host = "127.0.0.1" if settings.web.host in _WILDCARDS else settings.web.host
    base = args.url or f"http://{host}:{settings.web.port}"
    body = {"by": args.by or f"grodt flatten ({_user()})", "reason": args.reason}
    request = urllib.request.Request(
        f"{base.rstrip('/')}/api/v1/control/flatten",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {token.get_secret_value()}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        hint = " (the token is not the daemon's)" if exc.code == 401 else ""
        print(f"grodt: the daemon at {base} refused the flatten: {exc.code}{hint}", file=sys.stderr)
        return EXIT_FATAL
    except (OSError, ValueError) as exc:
        print(
            f"grodt: no daemon answered at {base} ({exc}): flatten needs the daemon running "
            "(start it, it reconciles with the exchange first), or --url to reach it",
            file=sys.stderr,
        )
        return EXIT_FATAL
    durable = "" if answer.get("durable") else " (NOT recorded in the store: see the detail)"
    print(f"flatten accepted{durable}: {answer.get('detail', '')}")
    return EXIT_OK


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's uid with no name
        return "operator"


def register(commands: Commands) -> None:
    flatten = commands.add_parser(
        "flatten", help="pause entries and close every open position (the daemon must run)"
    )
    flatten.add_argument("--reason", default="", help="why, for the status and the log")
    flatten.add_argument("--by", default="", help="who (default: grodt flatten (USER))")
    flatten.add_argument("--url", help="the daemon's web address (default: from the config)")
    flatten.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    flatten.set_defaults(handler=cmd_flatten)
