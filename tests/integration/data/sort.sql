-- sort.sql: inserts 200k rows of pseudo-random data (a deterministic LCG,
-- so every run prints the same), sorts, groups, indexes and joins them.
-- Used by tests/integration/run_sqlite3.sh and bench (sqlite3 workload).
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, payload TEXT);
WITH RECURSIVE g(i, x) AS (
  SELECT 1, 12345
  UNION ALL
  SELECT i + 1, (x * 1103515245 + 12345) % 2147483648 FROM g WHERE i < 200000
)
INSERT INTO t(id, k, name, payload)
SELECT i, x % 100000, printf('name-%08d', x % 977777),
       substr(printf('%x%x%x%x', x, x * 7, x * 13, x * 31), 1, 8 + x % 56)
FROM g;
SELECT count(*), sum(k), min(name), max(name), sum(length(payload)) FROM t;
SELECT id, k, name FROM t ORDER BY name, id LIMIT 5;
SELECT id, k, name FROM t ORDER BY payload DESC, id LIMIT 5;
SELECT k % 10 AS bucket, count(*), sum(length(payload)), group_concat(DISTINCT k % 3)
FROM t GROUP BY bucket ORDER BY bucket;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_payload ON t(payload, k);
SELECT count(DISTINCT name), count(DISTINCT payload) FROM t;
CREATE TABLE u AS SELECT name, count(*) AS n, sum(k) AS s FROM t GROUP BY name;
SELECT count(*), sum(n), sum(s) FROM u;
SELECT t.id, u.n FROM t JOIN u USING (name) WHERE u.n > 1 ORDER BY t.id LIMIT 5;
SELECT sum(x) FROM (SELECT k * 2 AS x FROM t ORDER BY payload, k LIMIT 100000);
UPDATE t SET payload = payload || name WHERE k % 7 = 0;
DELETE FROM t WHERE k % 5 = 0;
SELECT count(*), sum(length(payload)) FROM t;
SELECT name, payload FROM t ORDER BY payload, name LIMIT 3;
VACUUM;
SELECT count(*) FROM t;
