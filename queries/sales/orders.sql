-- Orders: distinct orders with at least one line that was not cancelled,
-- company-wide (region NULL) and per region.
WITH lines AS (
    SELECT s.*, coalesce(s.region, 'unknown') AS segment
    FROM sales s
    WHERE s.status <> 'cancelled'
)
SELECT p.period_start AS period,
       l.segment AS region,
       count(DISTINCT l.order_id) AS value
FROM periods p
JOIN lines l ON l.order_ts >= p.period_start AND l.order_ts < p.period_end
GROUP BY GROUPING SETS ((p.period_start), (p.period_start, l.segment))
