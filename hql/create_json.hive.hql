-- JSON lines (gzipped, files ending .gz) read by the HCatalog JSON SerDe: EMR Hive 3.1, Spark,
-- Athena and Trino all read it (Athena rejects org.apache.hadoop.hive.serde2.JsonSerDe).
CREATE EXTERNAL TABLE IF NOT EXISTS ${table} (
${columns}
)
${comment}
${partitioned_by}
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS TEXTFILE
LOCATION ${location}
${properties}
