-- Median first-response time in hours, over tickets created in the period
-- that have had a first response. Timestamps are instants, so date_diff counts
-- real elapsed time, also across a daylight-saving change.
SELECT p.period_start AS period,
       median(date_diff('second', t.created_at, t.first_response_at) / 3600.0) AS value
FROM periods p
JOIN tickets t ON t.created_at >= p.period_start AND t.created_at < p.period_end
WHERE t.first_response_at IS NOT NULL
GROUP BY ALL
