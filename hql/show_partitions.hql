-- The partitions a table has in the metastore (one `k=v/k2=v2` row each).
SHOW PARTITIONS ${table}
