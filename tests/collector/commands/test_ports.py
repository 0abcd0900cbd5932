# SPDX-License-Identifier: Apache-2.0
"""A busy receiver port is found before anything starts, and every port-in-use error names address, port and option."""

from __future__ import annotations

import errno
import socket

import pytest

from llmledger.collector.commands._ports import PortInUse, check_free, explain
from llmledger.collector.config import CollectorConfig


@pytest.fixture
def taken():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        yield listening.getsockname()[1]


def test_free_ports_and_any_port_pass(taken):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # closed below, before the check
    check_free(CollectorConfig(grpc_port=0, http_port=port))


def test_a_taken_port_names_its_receiver_address_and_the_ways_to_change_it(taken):
    with pytest.raises(PortInUse) as raised:
        check_free(CollectorConfig(grpc_port=taken, http_port=0))
    assert raised.value.errno == errno.EADDRINUSE
    assert str(raised.value) == (
        f"cannot listen for OTLP/gRPC on 127.0.0.1:{taken}: address already in use (is another collector running?); "
        "choose another port with --grpc-port PORT (or LLMLEDGER_GRPC_PORT, or grpc_port in --config)"
    )


def test_a_port_taken_between_the_check_and_the_start_still_names_the_ports_and_options():
    config = CollectorConfig(grpc_port=4317, http_port=4318)
    bare = OSError(errno.EADDRINUSE, "Address already in use")

    message = explain(bare, config)

    assert message == (
        "Address already in use on 127.0.0.1 (ports: OTLP/gRPC 4317, OTLP/HTTP 4318); "
        "choose other ports with --grpc-port and --http-port"
    )
    assert explain(OSError(errno.EACCES, "Permission denied"), config) == "[Errno 13] Permission denied"
