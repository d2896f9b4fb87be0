-- A report's SELECT for one day, as a scratch view (its DESCRIBE gives the columns).
CREATE OR REPLACE VIEW ${view} AS ${select}
