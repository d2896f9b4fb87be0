-- Partitions a full load replaced (EXTERNAL: the files are deleted by the importer).
ALTER TABLE ${table} DROP IF EXISTS ${partitions}
