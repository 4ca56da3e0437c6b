-- Average order value: revenue / orders (both excluding cancelled lines),
-- company-wide (region NULL) and per region. sample_size: the orders it
-- averages (below the KPI's min_sample the value is marked "low sample").
WITH lines AS (
    SELECT s.*, coalesce(s.region, 'unknown') AS segment
    FROM sales s
    WHERE s.status <> 'cancelled'
)
SELECT p.period_start AS period,
       l.segment AS region,
       sum(l.quantity * l.unit_price * (1 - coalesce(l.discount, 0)))
         / nullif(count(DISTINCT l.order_id), 0) AS value,
       count(DISTINCT l.order_id) AS sample_size
FROM periods p
JOIN lines l ON l.order_ts >= p.period_start AND l.order_ts < p.period_end
GROUP BY GROUPING SETS ((p.period_start), (p.period_start, l.segment))
