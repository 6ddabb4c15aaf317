-- Per-day rollups of usage_daily, one family of rows per dimension, written in
-- the same transaction as the aggregate. Analytics read these: a window costs
-- (days × keys of one dimension) rows, whatever the variety of the aggregate.
--   dim: 0 total (item 0), 1 provider, 2 model, 3 service (item = service
--   code), 4 source, 5 user, 6 configuration, 7 task; item 0 = none.
CREATE TABLE usage_rollup (
    dim SMALLINT NOT NULL,
    day INTEGER NOT NULL,
    item BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    tokens BIGINT NOT NULL,
    cost BIGINT NOT NULL,
    PRIMARY KEY (dim, day, item)
);

INSERT INTO usage_rollup (dim, day, item, requests, tokens, cost)
SELECT 0, day, 0, CAST(SUM(requests) AS BIGINT), CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT), CAST(SUM(cost) AS BIGINT) FROM usage_daily GROUP BY day
UNION ALL
SELECT 1, day, provider_id, CAST(SUM(requests) AS BIGINT), CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT), CAST(SUM(cost) AS BIGINT) FROM usage_daily GROUP BY day, provider_id
UNION ALL
SELECT 2, day, model_id, CAST(SUM(requests) AS BIGINT), CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT), CAST(SUM(cost) AS BIGINT) FROM usage_daily GROUP BY day, model_id
UNION ALL
SELECT 3, day, service, CAST(SUM(requests) AS BIGINT), CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT), CAST(SUM(cost) AS BIGINT) FROM usage_daily GROUP BY day, service
UNION ALL
SELECT 4, day, source_id, CAST(SUM(requests) AS BIGINT), CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT), CAST(SUM(cost) AS BIGINT) FROM usage_daily GROUP BY day, source_id
UNION ALL
SELECT 5, day, user_id, CAST(SUM(requests) AS BIGINT), CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT), CAST(SUM(cost) AS BIGINT) FROM usage_daily GROUP BY day, user_id
UNION ALL
SELECT 6, day, configuration_id, CAST(SUM(requests) AS BIGINT), CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT), CAST(SUM(cost) AS BIGINT) FROM usage_daily GROUP BY day, configuration_id
UNION ALL
SELECT 7, day, task_id, CAST(SUM(requests) AS BIGINT), CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT), CAST(SUM(cost) AS BIGINT) FROM usage_daily GROUP BY day, task_id;
