-- Return rate: share of the period's non-cancelled order lines that were
-- returned, company-wide (region NULL) and per region.
WITH lines AS (
    SELECT s.*, coalesce(s.region, 'unknown') AS segment
    FROM sales s
    WHERE s.status <> 'cancelled'
)
SELECT p.period_start AS period,
       l.segment AS region,
       avg(CASE WHEN l.status = 'returned' THEN 1.0 ELSE 0.0 END) AS value
FROM periods p
JOIN lines l ON l.order_ts >= p.period_start AND l.order_ts < p.period_end
GROUP BY GROUPING SETS ((p.period_start), (p.period_start, l.segment))
