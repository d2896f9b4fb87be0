ALTER TABLE `warehouse`.`events` ADD IF NOT EXISTS
  PARTITION (`dt` = '2012-01-01') LOCATION 's3://acme-warehouse/prod/events/dt=2012-01-01'
  PARTITION (`dt` = '2012-01-02') LOCATION 's3://acme-warehouse/prod/events/dt=2012-01-02';

ALTER TABLE `warehouse`.`events` ADD IF NOT EXISTS
  PARTITION (`dt` = '2012-01-03') LOCATION 's3://acme-warehouse/prod/events/dt=2012-01-03'
  PARTITION (`dt` = '2012-01-04') LOCATION 's3://acme-warehouse/prod/events/dt=2012-01-04';

ALTER TABLE `warehouse`.`events` ADD IF NOT EXISTS
  PARTITION (`dt` = '2012-01-05') LOCATION 's3://acme-warehouse/prod/events/dt=2012-01-05';

CREATE OR REPLACE VIEW `warehouse`.`mysql_shop_shop_orders_latest` AS
SELECT * FROM mysql_shop_shop_orders_loads;
