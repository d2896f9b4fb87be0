-- JSON lines read by Spark's json data source (the Hive JSON SerDes are not in
-- pyspark's jars). Partition columns are listed last among the columns.
CREATE TABLE IF NOT EXISTS ${table} (
${columns}
)
USING json
${partitioned_by}
LOCATION ${location}
${comment}
${properties}
