-- Median first-response time in hours (real elapsed time: local timestamps are
-- read in the session time zone, so a daylight-saving change counts), over
-- tickets created in the period
-- that have had a first response.
SELECT p.period_start AS period,
       median(date_diff('second', CAST(t.created_at AS TIMESTAMPTZ), CAST(t.first_response_at AS TIMESTAMPTZ)) / 3600.0) AS value
FROM periods p
JOIN tickets t ON t.created_at >= p.period_start AND t.created_at < p.period_end
WHERE t.first_response_at IS NOT NULL
GROUP BY ALL
