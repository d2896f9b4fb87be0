CREATE EXTERNAL TABLE IF NOT EXISTS `warehouse`.`events` (
  `ts` STRING COMMENT 'request time, UTC, ISO 8601 with Z',
  `ip` STRING,
  `vhost` STRING,
  `user` STRING,
  `method` STRING,
  `path` STRING COMMENT 'without the query string, as logged',
  `query` STRING,
  `protocol` STRING,
  `status` INT,
  `bytes` BIGINT,
  `referer` STRING,
  `user_agent` STRING,
  `duration_ms` DOUBLE,
  `slug` STRING COMMENT 'Django view name; NULL when no pattern matched',
  `params` MAP<STRING,STRING> COMMENT 'captured URL kwargs'
)
COMMENT 'behaviour events parsed from the access logs'
PARTITIONED BY (
  `dt` STRING COMMENT 'UTC date, YYYY-MM-DD'
)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS TEXTFILE
LOCATION 's3://acme-warehouse/prod/events'
TBLPROPERTIES ('warehouse.spec' = '3f3b6ff709741863');
