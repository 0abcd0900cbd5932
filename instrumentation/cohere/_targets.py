# SPDX-License-Identifier: Apache-2.0
"""Which provider serves a Cohere SDK client: Cohere's API, or Cohere's models on a cloud platform.

The SDK's Bedrock, SageMaker and OCI clients keep Cohere's URL as their base and send each request to the
platform from a hook, so those are told by the client's class, not its URL. `LLMLEDGER_PROVIDER_HOSTS` names a
gateway or proxy in front of the API (`host[:port]=provider`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .._shared.config import Config
from .._shared.wrapping import Target

PROVIDER = "cohere"
# Class-name prefixes of the SDK's platform clients (cohere.BedrockClient, SagemakerClientV2, OciClient, …).
_PLATFORMS = (("Bedrock", "aws.bedrock"), ("Sagemaker", "aws.sagemaker"), ("Oci", "oci.generative_ai"))


class Locator:
    """Resolves a client (v1 `Client`, `ClientV2`, or the `client.v2` resource) to its `Target`, cached per
    client class and base URL."""

    def __init__(self, config: Config) -> None:
        self._overrides = config.provider_hosts
        self._cache: dict[tuple[type, str | None], Target] = {}

    def __call__(self, instance: Any) -> Target:
        wrapper = getattr(instance, "_client_wrapper", None)
        if wrapper is None:  # `client.v2` keeps the client wrapper on its raw client only
            wrapper = instance._raw_client._client_wrapper
        base_url = wrapper.get_base_url()
        key = (type(instance), base_url if isinstance(base_url, str) else None)
        target = self._cache.get(key)
        if target is None:
            target = self._cache[key] = self._resolve(*key)
        return target

    def _resolve(self, cls: type, base_url: str | None) -> Target:
        for prefix, provider in _PLATFORMS:
            if cls.__name__.startswith(prefix):
                return Target(provider)  # the platform's endpoint is chosen per request by the SDK
        parts = urlsplit(base_url) if base_url else None
        host = parts.hostname.lower() if parts and parts.hostname else None
        port = parts.port if parts else None
        explicit = host and (self._overrides.get(f"{host}:{port}") or self._overrides.get(host))
        return Target(explicit or PROVIDER, host, port)
