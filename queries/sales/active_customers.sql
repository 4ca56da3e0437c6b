-- Active customers: distinct customers with a non-cancelled order line in the period.
SELECT p.period_start AS period,
       count(DISTINCT s.customer_id) AS value
FROM periods p
JOIN sales s ON s.order_ts >= p.period_start AND s.order_ts < p.period_end
WHERE s.status <> 'cancelled'
GROUP BY ALL
