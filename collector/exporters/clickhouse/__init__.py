# SPDX-License-Identifier: Apache-2.0
"""The ClickHouse exporter: the queue's rows into ClickHouse, and the ClickHouse the collector and commands use.

consumer        reads the queue's store records in batches and has them written, exactly once
writer          where a row is written: `llm_calls`, `llm_model_prices`, `otel_traces`
native_format   the Native blocks the writer sends (+ _native_format.c)
client, errors  connecting, and the driver's errors as ours
http_query      read queries over the HTTP interface with a socket alone, for commands that only ask
migrations      the schema (`llmledger.schemas`), applied in order (`migration_files`: the files, read); queries:
                the named queries
cluster_schema  the same migrations rendered for a cluster: local tables per shard, Distributed ones in front
embedded        the chdb-core engine served on loopback, when no ClickHouse URL is given
settings        where commands find ClickHouse (a URL, or the embedded engine's data directory)
"""
