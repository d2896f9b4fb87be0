-- Parquet files read by Spark's parquet data source. Partition columns are listed last
-- among the columns.
CREATE TABLE IF NOT EXISTS ${table} (
${columns}
)
USING parquet
${partitioned_by}
LOCATION ${location}
${comment}
${properties}
