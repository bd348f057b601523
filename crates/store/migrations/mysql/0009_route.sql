-- Route: providers (carriers that terminate outbound PSTN calls) and routes (which provider a
-- customer's calls to a country take, by priority). Kept in step with ../sqlite/0009_route.sql
-- (same tables, same columns in the same order).
--
-- Providers are platform-level, as in VoIPBIN: they have no customer; every customer may read
-- them and only the project super-admin writes them. A route's `target` is a country calling
-- code ("82") or "all"; `priority` is lower-wins. JSON values (`tech_headers`, `metadata`) are
-- serialised JSON text.
CREATE TABLE route_providers (
    id                CHAR(36)     NOT NULL,
    type              VARCHAR(16)  NOT NULL,
    hostname          VARCHAR(261) NOT NULL,
    tech_prefix       VARCHAR(32)  NOT NULL,
    tech_postfix      VARCHAR(32)  NOT NULL,
    tech_headers      LONGTEXT     NOT NULL,
    codecs            VARCHAR(255) NOT NULL,
    metadata          LONGTEXT     NOT NULL,
    name              VARCHAR(255) NOT NULL,
    detail            TEXT         NOT NULL,
    health_status     VARCHAR(16)  NOT NULL,
    health_checked_at VARCHAR(32)  NULL,
    tm_create         VARCHAR(32)  NOT NULL,
    tm_update         VARCHAR(32)  NOT NULL,
    tm_delete         VARCHAR(32)  NULL,
    PRIMARY KEY (id),
    KEY route_providers_created (tm_create, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE route_routes (
    id          CHAR(36)     NOT NULL,
    customer_id CHAR(36)     NOT NULL,
    name        VARCHAR(255) NOT NULL,
    detail      TEXT         NOT NULL,
    provider_id CHAR(36)     NOT NULL,
    priority    BIGINT       NOT NULL,
    target      VARCHAR(8)   NOT NULL,
    tm_create   VARCHAR(32)  NOT NULL,
    tm_update   VARCHAR(32)  NOT NULL,
    tm_delete   VARCHAR(32)  NULL,
    PRIMARY KEY (id),
    KEY route_routes_customer_created (customer_id, tm_create, id),
    KEY route_routes_created (tm_create, id),
    KEY route_routes_customer_target (customer_id, target, priority)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
