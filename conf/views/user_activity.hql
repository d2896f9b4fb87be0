-- Events joined to the users they are about: behaviour meets relational data.
--
-- Point it at your own tables (copy this folder, set [hive] views to the copy):
-- * the users table: an imported table is mysql_<source>_<database>_<table>; for a
--   lastmodified import use its view mysql_<source>_<database>_<table>_latest. A full
--   import keeps one load, so the table itself holds each user once.
-- * the key: COALESCE(e.params['user_id'], e.`user`) takes the user id the URL names
--   (a pattern such as users/<int:user_id>/) and else the logged-in user ([logs] user,
--   %u by default). Keep one of the two if your site needs only that one.
-- * the attributes: the users table's own columns (country, gender, signup_date here).
CREATE OR REPLACE VIEW user_activity AS
SELECT e.dt, e.ts, e.slug, e.params, e.ip, e.status, e.method, e.path,
       u.id AS user_id, u.country, u.gender, u.signup_date
FROM events e
JOIN mysql_shop_shop_users u
  ON CAST(u.id AS STRING) = COALESCE(e.params['user_id'], e.`user`)
