-- Weekly rollup rows for the user dimension (dim 105, day = the Monday the
-- week starts on). A 90-day per-user report reads about 13 weekly rows and
-- at most 12 daily rows per user instead of 90 daily rows.
INSERT INTO usage_rollup (dim, day, item, requests, tokens, cost)
SELECT 105, day - ((day + 3) % 7), item, CAST(SUM(requests) AS BIGINT), CAST(SUM(tokens) AS BIGINT), CAST(SUM(cost) AS BIGINT)
FROM usage_rollup WHERE dim = 5 GROUP BY day - ((day + 3) % 7), item;
