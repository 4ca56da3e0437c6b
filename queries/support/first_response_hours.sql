-- Median first-response time in hours, over tickets created in the period
-- that have had a first response. Timestamps are instants, so the difference of
-- their epoch microseconds is real elapsed time, also across a daylight-saving
-- change (the same as date_diff('second', ...) / 3600.0, without its calendar work).
SELECT p.period_start AS period,
       median((epoch_us(t.first_response_at) - epoch_us(t.created_at)) / 3600e6) AS value
FROM periods p
JOIN tickets t ON t.created_at >= p.period_start AND t.created_at < p.period_end
WHERE t.first_response_at IS NOT NULL
GROUP BY ALL
