CREATE EXTERNAL TABLE IF NOT EXISTS `warehouse`.`mysql_shop_shop_orders` (
  `id` BIGINT,
  `total` DECIMAL(12,2),
  `note` STRING COMMENT 'free text; may hold tabs'
)
PARTITIONED BY (
  `load` STRING
)
ROW FORMAT DELIMITED
  FIELDS TERMINATED BY '\001' ESCAPED BY '\\'
  LINES TERMINATED BY '\n'
  NULL DEFINED AS '\\N'
STORED AS TEXTFILE
LOCATION 's3://acme-warehouse/prod/mysql/shop/shop/orders'
TBLPROPERTIES ('warehouse.spec' = 'ea1798bdaa2c0709');
