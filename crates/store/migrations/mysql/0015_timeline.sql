-- Timeline events (timeline service). Kept in step with ../sqlite/0015_timeline.sql.
-- One row per event seen on the bus, for the resource it is about. dedupe_key is the SHA-256
-- of the event envelope (events carry no id), so a redelivered event is stored once.
-- activeflow_id is the activeflow an event belongs to (the activeflow itself, or the one named
-- in the data), for /aggregated-events.
CREATE TABLE timeline_events (
    id            CHAR(36)     NOT NULL,
    customer_id   CHAR(36)     NOT NULL,
    resource_type VARCHAR(64)  NOT NULL,
    resource_id   CHAR(36)     NOT NULL,
    activeflow_id CHAR(36)     NULL,
    event_type    VARCHAR(128) NOT NULL,
    publisher     VARCHAR(128) NOT NULL,
    data          MEDIUMTEXT   NOT NULL,
    dedupe_key    CHAR(64)     NOT NULL,
    tm_create     VARCHAR(32)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_timeline_events_dedupe_key (dedupe_key),
    KEY idx_timeline_events_resource (resource_type, resource_id, tm_create, id),
    KEY idx_timeline_events_activeflow (activeflow_id, tm_create, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
