-- The rows of one partition (a report's summary counts them).
SELECT count(*) FROM ${table} WHERE ${column} = ${value}
