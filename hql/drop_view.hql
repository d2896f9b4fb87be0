-- A report's scratch view, dropped after its day is written.
DROP VIEW IF EXISTS ${view}
