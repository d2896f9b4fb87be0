-- Raw log lines split by RegexSerDe (the same LogFormat engine as the parser made the
-- regex). Lines the regex cannot match come back as rows whose columns are all NULL.
CREATE EXTERNAL TABLE IF NOT EXISTS ${table} (
${columns}
)
${comment}
${partitioned_by}
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.RegexSerDe'
WITH SERDEPROPERTIES (
  'input.regex' = ${regex}
)
STORED AS TEXTFILE
LOCATION ${location}
${properties}
