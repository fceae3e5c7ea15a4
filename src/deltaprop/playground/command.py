"""The ``deltaprop playground`` subcommand: start the local server, print its address, open it.

``add_parser(subparsers)`` registers it; ``run(args)`` serves until Ctrl-C, then
stops every session and returns 0. Bad options raise ``ValueError`` naming the
option (``deltaprop.cli`` reports it with exit status 2, before anything starts).
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import sys
import threading
import webbrowser
from typing import Any

EPILOG = """\
examples:
  deltaprop playground                      a free port on 127.0.0.1, opened in the browser
  deltaprop playground --port 8765 --no-browser

It listens on 127.0.0.1 only; --host makes it reachable from other machines
(with a warning). Ctrl-C stops it."""


def add_parser(subparsers: Any) -> None:
    """Register ``playground`` on an argparse subparsers object."""
    p = subparsers.add_parser(
        "playground",
        help="a live page in the browser: train a 2-D network, step backpropagation through",
        description="Start a local web page where a network trains live on 2-D data and "
        "every number of backpropagation can be stepped through and checked.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", default="0", help="port to listen on (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the address, do not open it")
    p.set_defaults(run=run)


def check_port(text: str) -> int:
    """--port as a number 0 … 65535 (0: a free port)."""
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"--port must be a whole number 0 … 65535, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be a whole number 0 … 65535, got {port}")
    return port


def check_host(text: str) -> str:
    """--host as an IPv4 address; a warning on stderr when it is not the loopback.

    IPv6 is refused: the server listens on IPv4 (``AF_INET``) only.
    """
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"--host must be an IP address such as 127.0.0.1, got {text!r}") from None
    if address.version == 6:
        raise ValueError(
            f"--host must be an IPv4 address such as 127.0.0.1 or 0.0.0.0 "
            f"(the playground does not listen on IPv6), got {text!r}"
        )
    if not address.is_loopback:
        print(
            f"deltaprop: warning: listening on {text}: other machines can reach the playground "
            "and run training on this one",
            file=sys.stderr,
        )
    return text


def run(args: argparse.Namespace) -> int:
    """Serve the playground until Ctrl-C; 0 when stopped."""
    port, host = check_port(args.port), check_host(args.host)
    from .server import Playground

    try:
        server = Playground((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ValueError(
                f"--port {port} is already in use on {host}; choose another port, "
                "or --port 0 for a free one"
            ) from None
        reason = exc.strerror or str(exc)
        raise ValueError(f"--host {host} --port {port}: cannot listen there: {reason}") from None
    where = f"  (listening on all addresses, port {server.port})" if host == "0.0.0.0" else ""
    try:  # from the first line printed on, Ctrl-C stops it cleanly
        print(f"deltaprop playground: {server.url}{where}  (Ctrl-C stops it)", flush=True)
        if not args.no_browser:
            threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
        server.serve_forever()
    except KeyboardInterrupt:
        print("deltaprop playground: stopped", file=sys.stderr)
    finally:
        server.stop()
    return 0
