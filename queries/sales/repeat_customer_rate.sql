-- Repeat-customer rate: share of the period's active customers who had a
-- non-cancelled order at any time before the period started.
WITH valid AS (
    SELECT customer_id, order_ts FROM sales WHERE status <> 'cancelled'
),
first_order AS (
    SELECT customer_id, min(order_ts) AS first_ts FROM valid GROUP BY customer_id
),
active AS (
    SELECT DISTINCT p.period_start, p.period_end, v.customer_id
    FROM periods p
    JOIN valid v ON v.order_ts >= p.period_start AND v.order_ts < p.period_end
)
SELECT a.period_start AS period,
       avg(CASE WHEN f.first_ts < a.period_start THEN 1.0 ELSE 0.0 END) AS value
FROM active a
JOIN first_order f USING (customer_id)
GROUP BY ALL
