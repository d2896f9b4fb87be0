-- One day of activity per country, materialised nightly by `warehouse run` into the
-- table report_country_day (partition dt, files under ROOT/reports/country_day/dt=D/).
-- ${dt} is replaced by the day (YYYY-MM-DD); keep it inside quotes.
SELECT country, COUNT(*) AS events, COUNT(DISTINCT user_id) AS users
FROM user_activity
WHERE dt = '${dt}'
GROUP BY country
