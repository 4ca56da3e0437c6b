-- Revenue: net of discounts, excluding cancelled lines (returned lines count).
SELECT p.period_start AS period,
       sum(s.quantity * s.unit_price * (1 - coalesce(s.discount, 0))) AS value
FROM periods p
JOIN sales s ON s.order_ts >= p.period_start AND s.order_ts < p.period_end
WHERE s.status <> 'cancelled'
GROUP BY ALL
