-- Complaints: tickets of category 'complaint' created in the period.
SELECT p.period_start AS period, count(*) AS value
FROM periods p
JOIN tickets t ON t.created_at >= p.period_start AND t.created_at < p.period_end
WHERE t.category = 'complaint'
GROUP BY ALL
