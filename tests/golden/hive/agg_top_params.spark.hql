CREATE TABLE IF NOT EXISTS `warehouse`.`agg_top_params` (
  `slug` STRING,
  `param` STRING,
  `value` STRING,
  `hits` BIGINT,
  `rank` INT,
  `dt` STRING COMMENT 'UTC date, YYYY-MM-DD'
)
USING json
PARTITIONED BY (`dt`)
LOCATION 's3://acme-warehouse/prod/aggregates/top_params'
COMMENT 'output of the top_params aggregation'
TBLPROPERTIES ('warehouse.spec' = '45076a30e8616ff9');
