-- Median resolution time in hours, over tickets resolved in the period
-- (elapsed time: the difference of epoch microseconds, 3600e6 to the hour).
SELECT p.period_start AS period,
       median((epoch_us(t.resolved_at) - epoch_us(t.created_at)) / 3600e6) AS value
FROM periods p
JOIN tickets t ON t.resolved_at >= p.period_start AND t.resolved_at < p.period_end
GROUP BY ALL
