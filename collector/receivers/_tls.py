# SPDX-License-Identifier: Apache-2.0
"""Server-side TLS for both receivers from one certificate chain and key (PEM files).

Loaded once at start so a wrong path, a key that does not match the certificate or an unreadable file stops the
collector with a message naming the file, instead of failing every handshake later.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path  # PEM certificate chain, leaf first
    key: Path  # PEM private key of the leaf

    def server_context(self) -> ssl.SSLContext:
        """A TLS ≥ 1.2 server context for the HTTP receiver."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as error:
            raise ValueError(f"cannot use TLS certificate {self.cert} with key {self.key}: {error}") from None
        return context

    def pem_pair(self) -> tuple[bytes, bytes]:
        """(key, certificate chain) as `grpc.ssl_server_credentials` takes them, checked by `server_context`."""
        self.server_context()
        return self.key.read_bytes(), self.cert.read_bytes()
