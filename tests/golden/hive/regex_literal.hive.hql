CREATE EXTERNAL TABLE IF NOT EXISTS `warehouse`.`access_common` (
  `host` STRING,
  `ident` STRING,
  `user` STRING,
  `time` STRING,
  `request` STRING,
  `status` STRING,
  `bytes` STRING
)
COMMENT 'Apache \'common\' lines'
PARTITIONED BY (
  `dt` STRING
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.RegexSerDe'
WITH SERDEPROPERTIES (
  'input.regex' = '^(\\S+) (\\S+) (\\S+) \\[([^\\]]+)\\] "((?:[^"\\\\]|\\\\.)*)" (\\d{3}) (\\S+)$'
)
STORED AS TEXTFILE
LOCATION 's3://acme-warehouse/prod/raw'
TBLPROPERTIES ('warehouse.spec' = 'a90c6c9e61a34447');
