-- Repeat-customer rate: share of the period's active customers who had a
-- non-cancelled order at any time before the period started. A customer active in
-- the period is new exactly when their first order falls in it, so the rate is
-- (active - new) / active: one count of each per period, no join of every active
-- customer with their first order.
WITH valid AS (
    SELECT customer_id, order_ts FROM sales WHERE status <> 'cancelled'
),
first_order AS (
    SELECT customer_id, min(order_ts) AS first_ts FROM valid GROUP BY customer_id
),
active AS (
    SELECT p.period_start, count(DISTINCT v.customer_id) AS customers
    FROM periods p
    JOIN valid v ON v.order_ts >= p.period_start AND v.order_ts < p.period_end
    GROUP BY ALL
),
first_time AS (
    SELECT p.period_start, count(f.customer_id) AS customers
    FROM periods p
    JOIN first_order f ON f.first_ts >= p.period_start AND f.first_ts < p.period_end
    GROUP BY ALL
)
SELECT a.period_start AS period,
       (a.customers - coalesce(n.customers, 0)) / a.customers AS value
FROM active a
LEFT JOIN first_time n USING (period_start)
WHERE a.customers > 0
