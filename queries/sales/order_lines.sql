-- The sales KPIs computed from the period's non-cancelled order lines, in one pass,
-- company-wide (region NULL) and per region; each KPI names its column in
-- config/kpis.yaml (value:):
--   revenue: net of discounts (returned lines still count)
--   orders: distinct orders with at least one line that was not cancelled
--   average_order_value: revenue / orders (its sample: the orders it averages)
--   active_customers: distinct customers with a non-cancelled line
--   return_rate: share of the lines that were returned
--   repeat_customer_rate: share of the period's active customers who had a
--     non-cancelled order before the period started, company-wide only (its KPI
--     lists dimensions: []). A customer active in the period is new exactly when
--     their first order falls in it, so the rate is (active - new) / active.
WITH lines AS (
    SELECT s.*, coalesce(s.region, 'unknown') AS segment
    FROM sales s
    WHERE s.status <> 'cancelled'
),
first_order AS (  -- from sales, not lines: a CTE named twice is materialized, every column of every line
    SELECT customer_id, min(order_ts) AS first_ts
    FROM sales
    WHERE status <> 'cancelled'
    GROUP BY customer_id
),
new_customers AS (
    SELECT p.period_start, count(f.customer_id) AS customers
    FROM periods p
    JOIN first_order f ON f.first_ts >= p.period_start AND f.first_ts < p.period_end
    GROUP BY ALL
),
totals AS (
    SELECT p.period_start AS period,
           l.segment AS region,
           sum(l.quantity * l.unit_price * (1 - coalesce(l.discount, 0))) AS revenue,
           count(DISTINCT l.order_id) AS orders,
           count(DISTINCT l.customer_id) AS active_customers,
           avg(CASE WHEN l.status = 'returned' THEN 1.0 ELSE 0.0 END) AS return_rate
    FROM periods p
    JOIN lines l ON l.order_ts >= p.period_start AND l.order_ts < p.period_end
    GROUP BY GROUPING SETS ((p.period_start), (p.period_start, l.segment))
)
SELECT t.period,
       t.region,
       t.revenue,
       t.orders,
       t.revenue / nullif(t.orders, 0) AS average_order_value,
       t.active_customers,
       t.return_rate,
       CASE WHEN t.region IS NULL
            THEN (t.active_customers - coalesce(n.customers, 0)) / nullif(t.active_customers, 0)
       END AS repeat_customer_rate
FROM totals t
LEFT JOIN new_customers n ON t.region IS NULL AND n.period_start = t.period
