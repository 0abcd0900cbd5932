# SPDX-License-Identifier: Apache-2.0
"""Whether the collector's listen ports are free, asked before anything starts, and said with the option to change.

The receivers bind their ports only after the embedded ClickHouse and the queue have started, and a busy port then
surfaces as "[Errno 98] Address already in use", naming neither the address nor the port. `check_free` tries each
fixed port first (a port of 0 is any free one) and raises `PortInUse`, whose message names the receiver, the
address and port, and the flag, variable and config key that choose another.
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import CollectorConfig


class PortInUse(OSError):
    """A receiver's port is taken (errno EADDRINUSE); the message says which and how to choose another."""

    def __str__(self) -> str:
        return str(self.strerror)  # the message alone, without OSError's "[Errno 98]"


# receiver, the setting's name (flag --grpc-port, variable LLMLEDGER_GRPC_PORT, config key grpc_port)
_RECEIVERS = (("OTLP/gRPC", "grpc_port"), ("OTLP/HTTP", "http_port"))


def check_free(config: CollectorConfig) -> None:
    """Raise `PortInUse` for the first fixed port of `config` another process listens on."""
    for receiver, setting in _RECEIVERS:
        port = getattr(config, setting)
        if port == 0:
            continue
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        try:
            with socket.create_server((config.host, port), family=family):
                pass
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(errno.EADDRINUSE, in_use(receiver, config.host, port, setting)) from None
            raise  # another reason (an address not on this host, a privileged port): the receiver says it


def in_use(receiver: str, host: str, port: int, setting: str) -> str:
    """What to say when `receiver` cannot listen on `host`:`port` because the port is taken."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    flag = "--" + setting.replace("_", "-")
    return (
        f"cannot listen for {receiver} on {address}: address already in use (is another collector running?); "
        f"choose another port with {flag} PORT (or LLMLEDGER_{setting.upper()}, or {setting} in --config)"
    )


def explain(error: OSError, config: CollectorConfig) -> str:
    """`error` from starting the collector, with the ports and their options when it is a port in use."""
    if error.errno != errno.EADDRINUSE or isinstance(error, PortInUse):
        return str(error)
    ports = ", ".join(f"{receiver} {getattr(config, setting)}" for receiver, setting in _RECEIVERS)
    return (
        f"{error.strerror or error} on {config.host} (ports: {ports}); "
        "choose other ports with --grpc-port and --http-port"
    )


__all__ = ["PortInUse", "check_free", "explain", "in_use"]
