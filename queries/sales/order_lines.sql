-- The order KPIs computed from the period's non-cancelled order lines, in one pass,
-- company-wide (region NULL) and per region; each KPI names its column in
-- config/kpis.yaml (value:):
--   orders: distinct orders with at least one line that was not cancelled
--   average_order_value: net revenue / orders (its sample: the orders it averages)
--   active_customers: distinct customers with a non-cancelled line
--   return_rate: share of the lines that were returned
WITH lines AS (
    SELECT s.*, coalesce(s.region, 'unknown') AS segment
    FROM sales s
    WHERE s.status <> 'cancelled'
)
SELECT p.period_start AS period,
       l.segment AS region,
       count(DISTINCT l.order_id) AS orders,
       sum(l.quantity * l.unit_price * (1 - coalesce(l.discount, 0)))
         / nullif(count(DISTINCT l.order_id), 0) AS average_order_value,
       count(DISTINCT l.customer_id) AS active_customers,
       avg(CASE WHEN l.status = 'returned' THEN 1.0 ELSE 0.0 END) AS return_rate
FROM periods p
JOIN lines l ON l.order_ts >= p.period_start AND l.order_ts < p.period_end
GROUP BY GROUPING SETS ((p.period_start), (p.period_start, l.segment))
