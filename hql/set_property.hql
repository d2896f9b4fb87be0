-- One table property (the fingerprint of the views made over the table).
ALTER TABLE ${table} SET TBLPROPERTIES (${key} = ${value})
