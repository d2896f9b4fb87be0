CREATE TABLE IF NOT EXISTS `warehouse`.`agg_sessions` (
  `sessions` BIGINT,
  `visitors` BIGINT,
  `mean_session_s` DOUBLE,
  `median_session_s` DOUBLE,
  `mean_actions` DOUBLE,
  `top_entry` ARRAY<STRUCT<slug:STRING,n:BIGINT>>,
  `top_exit` ARRAY<STRUCT<slug:STRING,n:BIGINT>>,
  `dt` STRING COMMENT 'UTC date, YYYY-MM-DD'
)
USING json
PARTITIONED BY (`dt`)
LOCATION 's3://acme-warehouse/prod/aggregates/sessions'
COMMENT 'output of the sessions aggregation'
TBLPROPERTIES ('warehouse.spec' = 'd832ac3cf574ed1a');
