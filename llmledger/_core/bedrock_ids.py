# SPDX-License-Identifier: Apache-2.0
"""Amazon Bedrock's model identifiers, and the ids a call to one is priced by.

A Bedrock call names what it runs in one of three ways: a model id (``anthropic.claude-3-5-haiku-20241022-v1:0``),
a cross-region inference profile, which is the model id behind a geography prefix
(``us.anthropic.claude-…``, ``eu.``, ``apac.``, ``global.``, …), or the ARN of either
(``arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-…``). Bedrock bills a profile at its
model's on-demand price, except that genai-prices lists some global profiles apart (Anthropic's newer models cost
less through ``global.`` than in a region). So a call is priced by the most specific id genai-prices knows: the id
the call named (an ARN's resource id), then, for a profile, its model's id.

ARNs that name no model (an application inference profile, a provisioned or imported model, a custom model
deployment) have no per-token price to find: provisioned and imported models are billed by the hour, not the token.
"""

from __future__ import annotations

# The prefixes of Bedrock's system-defined cross-region inference profiles.
GEOGRAPHY_PREFIXES = frozenset({"us", "us-gov", "eu", "apac", "au", "ca", "jp", "in", "global"})
# ARN resource types whose resource id is a model id or a system-defined inference profile id.
_MODEL_RESOURCES = frozenset({"foundation-model", "inference-profile"})


def priced_ids(model_id: str) -> tuple[str, ...]:
    """The ids to look a Bedrock `model_id` up by, most specific first; `(model_id,)` when it names no model."""
    resource = _resource_id(model_id)
    if resource is None:
        return (model_id,)
    prefix, dot, model = resource.partition(".")
    if dot and prefix.lower() in GEOGRAPHY_PREFIXES and "." in model:
        return (resource, model)
    return (resource,)


def _resource_id(model_id: str) -> str | None:
    """The model or profile id in `model_id` (itself, or the resource id of its ARN); None for an ARN of anything
    else."""
    if not model_id.startswith("arn:"):
        return model_id
    # arn:partition:bedrock:region:account:resource-type/resource-id
    resource = model_id.split(":", 5)[-1]
    kind, slash, resource_id = resource.partition("/")
    return resource_id if slash and kind in _MODEL_RESOURCES and resource_id else None
