# SPDX-License-Identifier: Apache-2.0
"""Which ids a Bedrock call is priced by: the id it named (an ARN's resource id), then a profile's model id."""

from __future__ import annotations

import pytest

from llmledger._core.bedrock_ids import priced_ids


@pytest.mark.parametrize(
    ("model_id", "ids"),
    [
        ("anthropic.claude-3-5-haiku-20241022-v1:0", ("anthropic.claude-3-5-haiku-20241022-v1:0",)),
        ("openai.gpt-5.4", ("openai.gpt-5.4",)),  # a dot in the version is not a profile's prefix
        ("us.openai.gpt-5.4", ("us.openai.gpt-5.4", "openai.gpt-5.4")),
        (
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ),
        (
            "us-gov.meta.llama3-8b-instruct-v1:0",
            ("us-gov.meta.llama3-8b-instruct-v1:0", "meta.llama3-8b-instruct-v1:0"),
        ),
        ("apac.amazon.nova-micro-v1:0", ("apac.amazon.nova-micro-v1:0", "amazon.nova-micro-v1:0")),
        (
            "arn:aws:bedrock:us-east-1:012345678901:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic.claude-3-7-sonnet-20250219-v1:0"),
        ),
        ("arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0", ("amazon.nova-lite-v1:0",)),
    ],
)
def test_a_model_id_and_what_it_is_priced_as(model_id, ids):
    assert priced_ids(model_id) == ids


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:bedrock:us-east-1:012345678901:application-inference-profile/a1b2c3d4e5f6",
        "arn:aws:bedrock:us-east-1:012345678901:provisioned-model/abcdef123456",
        "arn:aws:bedrock:us-east-1:012345678901:imported-model/abcdef123456",
    ],
)
def test_an_arn_that_names_no_model_is_looked_up_only_as_it_is(arn):
    assert priced_ids(arn) == (arn,)
