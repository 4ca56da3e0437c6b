-- Return rate: share of the period's non-cancelled order lines that were returned.
SELECT p.period_start AS period,
       avg(CASE WHEN s.status = 'returned' THEN 1.0 ELSE 0.0 END) AS value
FROM periods p
JOIN sales s ON s.order_ts >= p.period_start AND s.order_ts < p.period_end
WHERE s.status <> 'cancelled'
GROUP BY ALL
