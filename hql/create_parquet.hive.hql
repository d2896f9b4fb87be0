-- Parquet files (events_parquet): EMR Hive 3.1, Spark, Athena and Trino read them; the
-- timestamps are INT96, which every one of them reads as TIMESTAMP.
CREATE EXTERNAL TABLE IF NOT EXISTS ${table} (
${columns}
)
${comment}
${partitioned_by}
STORED AS PARQUET
LOCATION ${location}
${properties}
