-- The database reports run in (created before).
USE ${database}
