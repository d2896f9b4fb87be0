CREATE EXTERNAL TABLE IF NOT EXISTS `warehouse`.`agg_top_params` (
  `slug` STRING,
  `param` STRING,
  `value` STRING,
  `hits` BIGINT,
  `rank` INT
)
COMMENT 'output of the top_params aggregation'
PARTITIONED BY (
  `dt` STRING COMMENT 'UTC date, YYYY-MM-DD'
)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS TEXTFILE
LOCATION 's3://acme-warehouse/prod/aggregates/top_params'
TBLPROPERTIES ('warehouse.spec' = '8901a2edc4de244f');
