CREATE EXTERNAL TABLE IF NOT EXISTS `warehouse`.`agg_daily_actions` (
  `slug` STRING,
  `hits` BIGINT,
  `users` BIGINT,
  `ips` BIGINT,
  `server_errors` BIGINT,
  `client_errors` BIGINT,
  `p50_ms` DOUBLE,
  `p95_ms` DOUBLE
)
COMMENT 'output of the daily_actions aggregation'
PARTITIONED BY (
  `dt` STRING COMMENT 'UTC date, YYYY-MM-DD'
)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS TEXTFILE
LOCATION 's3://acme-warehouse/prod/aggregates/daily_actions'
TBLPROPERTIES ('warehouse.spec' = 'f7fa697cc0d24c4c');
