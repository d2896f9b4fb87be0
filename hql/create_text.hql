-- Delimited text as Sqoop writes it; the delimiters match the import's argv.
CREATE EXTERNAL TABLE IF NOT EXISTS ${table} (
${columns}
)
${comment}
${partitioned_by}
ROW FORMAT DELIMITED
  FIELDS TERMINATED BY ${field_delim}${escaped_by}
  LINES TERMINATED BY ${line_delim}
  NULL DEFINED AS ${null_string}
STORED AS TEXTFILE
LOCATION ${location}
${properties}
