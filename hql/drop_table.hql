-- Tables are EXTERNAL: dropping one keeps its files (it is re-created at once).
DROP TABLE IF EXISTS ${table}
