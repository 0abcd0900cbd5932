# SPDX-License-Identifier: Apache-2.0
"""Who serves a Cohere SDK client: Cohere's API, a gateway the user names, or a cloud platform's client, which
keeps Cohere's URL as its base and is told by its class."""

from __future__ import annotations

import cohere
import pytest

from llmledger._core import prices
from llmledger.instrumentation._shared.config import Config
from llmledger.instrumentation.cohere._targets import Locator
from tests.instrumentation.cohere.sdk_calls import client_class
from tests.instrumentation.features import needs

AWS = {"aws_region": "us-east-1", "aws_access_key": "test", "aws_secret_key": "test"}


def test_cohere_s_api_is_cohere():
    target = Locator(Config())(cohere.Client(api_key="test"))
    assert target.provider == "cohere"
    assert target.host in ("api.cohere.com", "api.cohere.ai")  # the SDK's default host, which early 5.x had on .ai


def test_the_v2_resource_of_a_v1_client_is_located_through_its_raw_client():
    needs(cohere.Client(api_key="test"), "v2")
    assert Locator(Config())(cohere.Client(api_key="test").v2).provider == "cohere"


def test_a_gateway_is_named_by_provider_hosts():
    config = Config(provider_hosts={"llm-gateway.internal": "azure.ai.inference"})
    client = client_class(v2=True, asynchronous=False)(api_key="test", base_url="https://llm-gateway.internal/cohere")
    assert Locator(config)(client).provider == "azure.ai.inference"


def test_the_bedrock_client_is_aws_bedrock_priced_at_bedrock_rates():
    pytest.importorskip("boto3")
    needs(cohere, "BedrockClientV2")
    target = Locator(Config())(cohere.BedrockClientV2(**AWS))
    assert target.provider == "aws.bedrock"
    assert target.host is None  # the SDK sends each request to the region's endpoint itself


def test_the_sagemaker_client_is_unpriced_since_an_endpoint_is_billed_by_the_hour():
    pytest.importorskip("boto3")
    needs(cohere, "SagemakerClientV2")
    target = Locator(Config())(cohere.SagemakerClientV2(**AWS))
    assert target.provider == "aws.sagemaker"
    assert prices.lookup(target.provider, "command-r") is None  # not Cohere's per-token price
