-- Webhook deliveries (webhook service) and the customer's webhook secret (customer service).
-- Kept in step with ../mysql/0014_webhook.sql.
-- One row per (event, destination). seq orders the rows of one resource: the worker sends
-- the oldest unfinished row of a resource only, so a resource's webhooks arrive in order.
-- next_try_ms and lease_until_ms are epoch milliseconds so the worker can compare them in SQL.
-- event_key (SHA-256 of publisher, type and payload) makes a redelivered event a no-op.
ALTER TABLE customer_customers ADD COLUMN webhook_secret VARCHAR(255) NOT NULL DEFAULT '';

CREATE TABLE webhook_deliveries (
    seq              INTEGER       NOT NULL PRIMARY KEY AUTOINCREMENT,
    id               CHAR(36)      NOT NULL,
    customer_id      CHAR(36)      NOT NULL,
    event_type       VARCHAR(128)  NOT NULL,
    resource_id      VARCHAR(64)   NOT NULL,
    destination      VARCHAR(16)   NOT NULL,
    uri              VARCHAR(2048) NOT NULL,
    method           VARCHAR(16)   NOT NULL,
    event_key        CHAR(64)      NOT NULL,
    payload          TEXT          NOT NULL,
    status           VARCHAR(16)   NOT NULL,
    attempts         INTEGER       NOT NULL,
    last_error       TEXT          NOT NULL,
    last_status_code INTEGER       NOT NULL,
    next_try_ms      BIGINT        NOT NULL,
    lease_until_ms   BIGINT        NOT NULL,
    tm_create        VARCHAR(32)   NOT NULL,
    tm_update        VARCHAR(32)   NULL
);
CREATE UNIQUE INDEX uq_webhook_deliveries_id ON webhook_deliveries (id);
CREATE UNIQUE INDEX uq_webhook_deliveries_event ON webhook_deliveries (event_key, destination);
CREATE INDEX idx_webhook_deliveries_status_next ON webhook_deliveries (status, next_try_ms);
CREATE INDEX idx_webhook_deliveries_resource ON webhook_deliveries (resource_id, seq);
CREATE INDEX idx_webhook_deliveries_customer ON webhook_deliveries (customer_id, tm_create, id);
