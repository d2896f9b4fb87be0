-- The warehouse database; every table in it is EXTERNAL (dropping one keeps its data).
CREATE DATABASE IF NOT EXISTS ${database}
