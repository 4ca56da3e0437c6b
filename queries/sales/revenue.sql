-- Revenue: net of discounts, excluding cancelled lines (returned lines count).
-- One row per period company-wide (region NULL) and one per period and region,
-- so regional reports (burst_by: region) come from the same single execution.
WITH lines AS (
    SELECT s.*, coalesce(s.region, 'unknown') AS segment
    FROM sales s
    WHERE s.status <> 'cancelled'
)
SELECT p.period_start AS period,
       l.segment AS region,
       sum(l.quantity * l.unit_price * (1 - coalesce(l.discount, 0))) AS value
FROM periods p
JOIN lines l ON l.order_ts >= p.period_start AND l.order_ts < p.period_end
GROUP BY GROUPING SETS ((p.period_start), (p.period_start, l.segment))
