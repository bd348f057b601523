-- Instance-level facts (instance id, schema notes, ...). Kept in step with ../mysql/0001_platform.sql.
CREATE TABLE platform_settings (
    `key`     VARCHAR(255) NOT NULL PRIMARY KEY,
    value     TEXT         NOT NULL,
    tm_create TEXT         NOT NULL,
    tm_update TEXT         NOT NULL
);
