-- The transactional outbox (svc-kit). Kept in step with ../mysql/0013_outbox.sql.
-- A service inserts its events here in the same transaction as the state change they report;
-- a relay publishes them to the bus in seq order, then deletes them (a durable bus) or stamps
-- published_ms and keeps them a while (the in-process bus, whose queues die with the process:
-- a relay starting in a new process publishes the recent ones again). One relay per
-- publisher holds the lease in outbox_leases at a time, so events leave in commit order.
CREATE TABLE outbox_events (
    seq         INTEGER      NOT NULL PRIMARY KEY AUTOINCREMENT,
    publisher   VARCHAR(64)  NOT NULL,
    event_type  VARCHAR(128) NOT NULL,
    resource_id VARCHAR(64)  NOT NULL,
    data        TEXT         NOT NULL,
    tm_create   VARCHAR(32)  NOT NULL,
    published_ms BIGINT      NOT NULL DEFAULT 0
);
CREATE INDEX idx_outbox_events_publisher_seq ON outbox_events (publisher, published_ms, seq);

CREATE TABLE outbox_leases (
    publisher VARCHAR(64) NOT NULL PRIMARY KEY,
    owner     VARCHAR(64) NOT NULL,
    until_ms  BIGINT      NOT NULL
);
