-- SLA-met rate: share of tickets created in the period whose first response
-- came within $sla_hours of creation (a ticket never answered has missed it).
SELECT p.period_start AS period,
       avg(CASE
             WHEN t.first_response_at IS NOT NULL
              AND epoch_us(t.first_response_at) - epoch_us(t.created_at) <= $sla_hours * 3600e6
             THEN 1.0 ELSE 0.0 END) AS value
FROM periods p
JOIN tickets t ON t.created_at >= p.period_start AND t.created_at < p.period_end
GROUP BY ALL
