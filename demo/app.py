# SPDX-License-Identifier: Apache-2.0
"""A sample LLM app with no telemetry code: run it under `opentelemetry-instrument` and its calls are costed.

It talks to whatever `OPENAI_BASE_URL` names (the demo points it at the loopback replay server).
"""

from __future__ import annotations

import asyncio

from openai import AsyncOpenAI, OpenAI

QUESTION = [{"role": "user", "content": "Tell me a joke about OpenTelemetry"}]


def main() -> None:
    client = OpenAI(max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)  # prompt caching
    client.chat.completions.create(model="gpt-5-nano", messages=QUESTION)  # reasoning tokens
    for _ in client.chat.completions.create(model="gpt-4", messages=QUESTION, stream=True):
        pass
    client.embeddings.create(model="text-embedding-ada-002", input="Tell me a joke")
    client.responses.create(model="gpt-4.1-nano", input="Tell me a joke")

    async def concurrently() -> None:
        async_client = AsyncOpenAI(max_retries=0)
        await asyncio.gather(
            *(async_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION) for _ in range(3))
        )
        await async_client.close()

    asyncio.run(concurrently())


if __name__ == "__main__":
    main()
