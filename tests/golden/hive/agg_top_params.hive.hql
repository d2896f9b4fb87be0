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
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.JsonSerDe'
STORED AS TEXTFILE
LOCATION 's3://acme-warehouse/prod/aggregates/top_params'
TBLPROPERTIES ('warehouse.spec' = 'c50afde4d0c6feb6');
