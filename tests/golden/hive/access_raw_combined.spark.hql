CREATE EXTERNAL TABLE IF NOT EXISTS `warehouse`.`access_raw` (
  <serde_columns() as STRING>
)
COMMENT 'raw access log lines; all-NULL rows are lines the regex cannot match'
PARTITIONED BY (
  `dt` STRING COMMENT 'UTC date, YYYY-MM-DD'
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.RegexSerDe'
WITH SERDEPROPERTIES (
  'input.regex' = '<input.regex from compile_format>'
)
STORED AS TEXTFILE
LOCATION 's3://acme-warehouse/prod/raw'
TBLPROPERTIES ('warehouse.spec' = '<fingerprint>');
