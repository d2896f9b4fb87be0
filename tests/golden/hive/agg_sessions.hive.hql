CREATE EXTERNAL TABLE IF NOT EXISTS `warehouse`.`agg_sessions` (
  `sessions` BIGINT,
  `visitors` BIGINT,
  `mean_session_s` DOUBLE,
  `median_session_s` DOUBLE,
  `mean_actions` DOUBLE,
  `top_entry` ARRAY<STRUCT<slug:STRING,n:BIGINT>>,
  `top_exit` ARRAY<STRUCT<slug:STRING,n:BIGINT>>
)
COMMENT 'output of the sessions aggregation'
PARTITIONED BY (
  `dt` STRING COMMENT 'UTC date, YYYY-MM-DD'
)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS TEXTFILE
LOCATION 's3://acme-warehouse/prod/aggregates/sessions'
TBLPROPERTIES ('warehouse.spec' = 'cb10102d7da921c4');
