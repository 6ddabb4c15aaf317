-- A stored total's cost in two parts: whole dollars, and the picodollars
-- below a dollar. In one 64-bit column of picodollars a total held at most
-- $9.2 million, and a day's total of all usage is one row that every client
-- adds to: ten records of $1,000,000 would have filled it, and every priced
-- record of that day been refused after them.
ALTER TABLE usage_daily RENAME COLUMN cost TO cost_picos;
ALTER TABLE usage_daily ADD COLUMN cost_dollars INTEGER NOT NULL DEFAULT 0;
UPDATE usage_daily SET cost_dollars = cost_picos / 1000000000000,
    cost_picos = cost_picos % 1000000000000
    WHERE cost_picos >= 1000000000000;
ALTER TABLE usage_rollup RENAME COLUMN cost TO cost_picos;
ALTER TABLE usage_rollup ADD COLUMN cost_dollars INTEGER NOT NULL DEFAULT 0;
UPDATE usage_rollup SET cost_dollars = cost_picos / 1000000000000,
    cost_picos = cost_picos % 1000000000000
    WHERE cost_picos >= 1000000000000;
