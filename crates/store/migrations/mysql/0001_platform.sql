-- Instance-level facts (instance id, schema notes, ...). Kept in step with ../sqlite/0001_platform.sql.
CREATE TABLE platform_settings (
    `key`     VARCHAR(255) NOT NULL,
    value     LONGTEXT     NOT NULL,
    tm_create VARCHAR(32)  NOT NULL,
    tm_update VARCHAR(32)  NOT NULL,
    PRIMARY KEY (`key`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
