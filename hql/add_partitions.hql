-- Many partitions per statement; IF NOT EXISTS keeps re-runs harmless.
ALTER TABLE ${table} ADD IF NOT EXISTS
${partitions}
