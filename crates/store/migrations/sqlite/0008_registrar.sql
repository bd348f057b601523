-- Registrar: SIP extensions (phones that register) and trunks (PBXs and carriers that send calls).
-- Kept in step with ../mysql/0008_registrar.sql (same tables, same columns in the same order).
--
-- `password` is kept in clear because SIP digest needs it (or an HA1) and the public API returns
-- it, as VoIPBIN does; `ha1_md5` / `ha1_sha256` are H(username:realm:password) for RFC 2617 and
-- RFC 8760 digest, so the SIP edge need not see the password. `live` is 1 while the row is live
-- and NULL once deleted: the unique keys include it, so they bind live rows only (NULLs never
-- collide) on both engines, without partial indexes.
CREATE TABLE registrar_extensions (
    id          CHAR(36)     NOT NULL PRIMARY KEY,
    customer_id CHAR(36)     NOT NULL,
    name        VARCHAR(255) NOT NULL,
    detail      TEXT         NOT NULL,
    extension   VARCHAR(64)  NOT NULL,
    realm       VARCHAR(255) NOT NULL,
    password    VARCHAR(255) NOT NULL,
    ha1_md5     VARCHAR(32)  NOT NULL,
    ha1_sha256  VARCHAR(64)  NOT NULL,
    direct_hash VARCHAR(64)  NOT NULL DEFAULT '',
    live        SMALLINT     NULL DEFAULT 1,
    tm_create   VARCHAR(32)  NOT NULL,
    tm_update   VARCHAR(32)  NOT NULL,
    tm_delete   VARCHAR(32)  NULL
);
CREATE UNIQUE INDEX registrar_extensions_live_extension ON registrar_extensions (customer_id, extension, live);
CREATE INDEX registrar_extensions_customer_created ON registrar_extensions (customer_id, tm_create, id);
CREATE INDEX registrar_extensions_created ON registrar_extensions (tm_create, id);

CREATE TABLE registrar_trunks (
    id          CHAR(36)     NOT NULL PRIMARY KEY,
    customer_id CHAR(36)     NOT NULL,
    name        VARCHAR(255) NOT NULL,
    detail      TEXT         NOT NULL,
    domain_name VARCHAR(63)  NOT NULL,
    realm       VARCHAR(255) NOT NULL,
    auth_types  TEXT         NOT NULL,
    username    VARCHAR(255) NOT NULL,
    password    VARCHAR(255) NOT NULL,
    ha1_md5     VARCHAR(32)  NOT NULL,
    ha1_sha256  VARCHAR(64)  NOT NULL,
    allowed_ips TEXT         NOT NULL,
    live        SMALLINT     NULL DEFAULT 1,
    tm_create   VARCHAR(32)  NOT NULL,
    tm_update   VARCHAR(32)  NOT NULL,
    tm_delete   VARCHAR(32)  NULL
);
CREATE UNIQUE INDEX registrar_trunks_live_domain ON registrar_trunks (domain_name, live);
CREATE INDEX registrar_trunks_customer_created ON registrar_trunks (customer_id, tm_create, id);
CREATE INDEX registrar_trunks_created ON registrar_trunks (tm_create, id);
