-- JSON lines (gzipped, files ending .gz) read by Hive 3's JSON SerDe (EMR).
CREATE EXTERNAL TABLE IF NOT EXISTS ${table} (
${columns}
)
${comment}
${partitioned_by}
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.JsonSerDe'
STORED AS TEXTFILE
LOCATION ${location}
${properties}
