-- The transactional outbox (svc-kit). Kept in step with ../sqlite/0013_outbox.sql.
-- A service inserts its events here in the same transaction as the state change they report;
-- a relay publishes them to the bus in seq order, then deletes them (a durable bus) or stamps
-- published_ms and keeps them a while (the in-process bus, whose queues die with the process:
-- a relay starting in a new process publishes the recent ones again). One relay per
-- publisher holds the lease in outbox_leases at a time, so events leave in commit order.
CREATE TABLE outbox_events (
    seq         BIGINT       NOT NULL AUTO_INCREMENT,
    publisher   VARCHAR(64)  NOT NULL,
    event_type  VARCHAR(128) NOT NULL,
    resource_id VARCHAR(64)  NOT NULL,
    data        LONGTEXT     NOT NULL,
    tm_create   VARCHAR(32)  NOT NULL,
    published_ms BIGINT      NOT NULL DEFAULT 0,
    PRIMARY KEY (seq),
    KEY idx_outbox_events_publisher_seq (publisher, published_ms, seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE outbox_leases (
    publisher VARCHAR(64) NOT NULL,
    owner     VARCHAR(64) NOT NULL,
    until_ms  BIGINT      NOT NULL,
    PRIMARY KEY (publisher)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
