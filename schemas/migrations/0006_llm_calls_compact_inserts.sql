-- SPDX-License-Identifier: Apache-2.0
-- Inserts into llm_calls write compact parts (all columns in one file); the parts merges make are wide from 128 MiB.
--
-- The collector inserts up to 50,000 rows at a time, ~17 MB uncompressed: past ClickHouse's 10 MiB default from
-- which a part is wide, with a file pair and a write buffer per column and skip index (~120 per insert). Written
-- compact, the same insert costs the server ~17% less CPU a row (benchmarks/clickhouse_insert_cost.py); merges
-- soon fold those parts into wide ones, which is what queries over more than the last minutes read.
-- Idempotent: setting it again changes nothing.
ALTER TABLE {database}.llm_calls MODIFY SETTING min_bytes_for_wide_part = 134217728;
