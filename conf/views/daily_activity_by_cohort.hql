-- Per-day activity by signup cohort (the month a user signed up, YYYY-MM).
CREATE OR REPLACE VIEW daily_activity_by_cohort AS
SELECT dt, substr(CAST(signup_date AS STRING), 1, 7) AS cohort,
       COUNT(*) AS events, COUNT(DISTINCT user_id) AS users
FROM user_activity
GROUP BY dt, substr(CAST(signup_date AS STRING), 1, 7)
