-- Orders: distinct orders with at least one line that was not cancelled.
SELECT p.period_start AS period,
       count(DISTINCT s.order_id) AS value
FROM periods p
JOIN sales s ON s.order_ts >= p.period_start AND s.order_ts < p.period_end
WHERE s.status <> 'cancelled'
GROUP BY ALL
