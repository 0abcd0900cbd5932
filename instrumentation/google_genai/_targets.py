# SPDX-License-Identifier: Apache-2.0
"""Which platform serves a google-genai client: the Gemini API (`gcp.gemini`) or Vertex AI (`gcp.vertex_ai`).

One `Client` talks to either, as its `vertexai` flag says; the same model has a price at each.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .._shared.config import Config
from .._shared.wrapping import Target


class Locator:
    """Resolves a resource (models, caches, interactions) to its `Target`, cached per API client."""

    def __init__(self, config: Config) -> None:
        self._overrides = config.provider_hosts
        self._cache: dict[tuple[bool, str | None], Target] = {}

    def __call__(self, resource: Any) -> Target:
        api_client = resource._api_client
        vertex = bool(getattr(api_client, "vertexai", False))
        base_url = getattr(getattr(api_client, "_http_options", None), "base_url", None)
        key = (vertex, base_url if isinstance(base_url, str) else None)
        target = self._cache.get(key)
        if target is None:
            target = self._cache[key] = self._resolve(*key)
        return target

    def _resolve(self, vertex: bool, base_url: str | None) -> Target:
        parts = urlsplit(base_url) if base_url else None
        host = parts.hostname.lower() if parts and parts.hostname else None
        port = parts.port if parts else None
        explicit = host and (self._overrides.get(f"{host}:{port}") or self._overrides.get(host))
        return Target(explicit or ("gcp.vertex_ai" if vertex else "gcp.gemini"), host, port)
