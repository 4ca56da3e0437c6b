-- Spark's version of open_backlog.sql (Spark has no 'infinity' timestamp): tickets created
-- before the period ended and not resolved by then (a ticket never resolved is still open).
SELECT p.period_start AS period, count(t.ticket_id) AS value
FROM periods p
JOIN tickets t ON t.created_at < p.period_end
              AND (t.resolved_at IS NULL OR t.resolved_at >= p.period_end)
GROUP BY ALL
