-- Per-day activity by a user attribute (country), over user_activity (created before
-- this view: hive apply orders views by the views they use).
CREATE OR REPLACE VIEW daily_activity_by_country AS
SELECT dt, country, COUNT(*) AS events, COUNT(DISTINCT user_id) AS users
FROM user_activity
GROUP BY dt, country
