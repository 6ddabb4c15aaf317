-- Demo data (`seed-usage`, `demo`) is marked on the catalog records it creates.
-- Usage is demo usage when its provider is a demo provider, so a database's
-- real usage is never mistaken for demo data, and `seed-usage --replace`
-- removes only what a seed created.
ALTER TABLE providers ADD COLUMN demo BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE models ADD COLUMN demo BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE configurations ADD COLUMN demo BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tasks ADD COLUMN demo BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN demo BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE sources ADD COLUMN demo BOOLEAN NOT NULL DEFAULT FALSE;
