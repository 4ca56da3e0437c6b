-- Open backlog at period end: tickets created before the period ended and not
-- resolved by then (a ticket never resolved counts as resolved at 'infinity').
-- Both conditions sit in the join, where each period's end is converted to its
-- local midnight once, not once per ticket.
SELECT p.period_start AS period, count(t.ticket_id) AS value
FROM periods p
JOIN tickets t ON t.created_at < p.period_end
              AND coalesce(t.resolved_at, 'infinity'::TIMESTAMPTZ) >= p.period_end
GROUP BY ALL
