-- Views hold no data: replacing one is harmless and keeps re-runs idempotent.
CREATE OR REPLACE VIEW ${view} AS
${select}
