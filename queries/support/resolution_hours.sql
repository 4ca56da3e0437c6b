-- Median resolution time in hours, over tickets resolved in the period.
SELECT p.period_start AS period,
       median(date_diff('second', t.created_at, t.resolved_at) / 3600.0) AS value
FROM periods p
JOIN tickets t ON t.resolved_at >= p.period_start AND t.resolved_at < p.period_end
GROUP BY ALL
