CREATE TABLE IF NOT EXISTS `warehouse`.`agg_daily_actions` (
  `slug` STRING,
  `hits` BIGINT,
  `users` BIGINT,
  `ips` BIGINT,
  `server_errors` BIGINT,
  `client_errors` BIGINT,
  `p50_ms` DOUBLE,
  `p95_ms` DOUBLE,
  `dt` STRING COMMENT 'UTC date, YYYY-MM-DD'
)
USING json
PARTITIONED BY (`dt`)
LOCATION 's3://acme-warehouse/prod/aggregates/daily_actions'
COMMENT 'output of the daily_actions aggregation'
TBLPROPERTIES ('warehouse.spec' = 'b5de64e5b10a203d');
