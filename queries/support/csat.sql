-- CSAT: average satisfaction score (1-5) of tickets resolved in the period
-- whose customer answered the survey. sample_size: the answers it averages
-- (below the KPI's min_sample the value is marked "low sample").
SELECT p.period_start AS period,
       avg(t.satisfaction) AS value,
       count(t.satisfaction) AS sample_size
FROM periods p
JOIN tickets t ON t.resolved_at >= p.period_start AND t.resolved_at < p.period_end
WHERE t.satisfaction IS NOT NULL
GROUP BY ALL
