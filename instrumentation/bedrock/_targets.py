# SPDX-License-Identifier: Apache-2.0
"""Who serves a botocore Bedrock Runtime client: Amazon Bedrock, at the client's endpoint.

The client's service says it is Bedrock whatever its endpoint (a region's, a VPC endpoint, a FIPS one); only
`LLMLEDGER_PROVIDER_HOSTS` names another provider behind a custom `endpoint_url`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .._shared.config import Config
from .._shared.wrapping import Target

PROVIDER = "aws.bedrock"


class Locator:
    """Resolves a client to its `Target`, cached per endpoint URL (a client keeps one for its life)."""

    def __init__(self, config: Config) -> None:
        self._overrides = config.provider_hosts
        self._cache: dict[str, Target] = {}

    def __call__(self, client: Any) -> Target:
        url = client.meta.endpoint_url
        target = self._cache.get(url)
        if target is None:
            target = self._cache[url] = self._resolve(url)
        return target

    def _resolve(self, url: str) -> Target:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
        provider = self._overrides.get(f"{host}:{port}") or self._overrides.get(host) or PROVIDER
        return Target(provider, host or None, port)
