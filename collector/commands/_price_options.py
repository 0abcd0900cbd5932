# SPDX-License-Identifier: Apache-2.0
"""The period the re-pricing commands (`reprice`, `whatif`) act on: their --since and --until, and the window of
Unix ns they name, checked alike in both."""

from __future__ import annotations

import argparse
import time

from ._instants import instant_ns, iso
from ._options import UsageError


def add_period_options(parser: argparse.ArgumentParser, since_default: str | None) -> None:
    """--since (required when `since_default` is None) and --until (now when not given)."""
    default = f" [{since_default}]" if since_default else ""
    parser.add_argument(
        "--since",
        required=since_default is None,
        default=since_default,
        metavar="TIME",
        help=f"ISO 8601 time (UTC unless zoned) or age: 30d, 24h{default}",
    )
    parser.add_argument("--until", metavar="TIME", help="end of the period, exclusive [now]")


def period(args: argparse.Namespace) -> tuple[int, int]:
    """(since, until) in Unix ns, both read against the same now; UsageError naming the option that is wrong, or
    if the period is empty."""
    now = time.time_ns()
    since = instant_ns(args.since, "--since", now)
    until = instant_ns(args.until, "--until", now) if args.until else now
    if until <= since:
        raise UsageError(f"--until {iso(until)} is not after --since {iso(since)}")
    return since, until
