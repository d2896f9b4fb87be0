-- A report's day replaced: a re-run never duplicates rows.
INSERT OVERWRITE TABLE ${table} PARTITION (${column} = ${value}) SELECT ${columns} FROM ${source}
