CREATE TABLE IF NOT EXISTS `warehouse`.`events` (
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
  `params` MAP<STRING,STRING> COMMENT 'captured URL kwargs',
  `dt` STRING COMMENT 'UTC date, YYYY-MM-DD'
)
USING json
PARTITIONED BY (`dt`)
LOCATION 's3://acme-warehouse/prod/events'
COMMENT 'behaviour events parsed from the access logs'
TBLPROPERTIES ('warehouse.spec' = '1227d61950087e30');
