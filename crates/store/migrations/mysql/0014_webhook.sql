-- Webhook deliveries (webhook service) and the customer's webhook secret (customer service).
-- Kept in step with ../sqlite/0014_webhook.sql.
-- One row per (event, destination). seq orders the rows of one resource: the worker sends
-- the oldest unfinished row of a resource only, so a resource's webhooks arrive in order.
-- next_try_ms and lease_until_ms are epoch milliseconds so the worker can compare them in SQL.
-- event_key (SHA-256 of publisher, type and payload) makes a redelivered event a no-op.
ALTER TABLE customer_customers ADD COLUMN webhook_secret VARCHAR(255) NOT NULL DEFAULT '';

CREATE TABLE webhook_deliveries (
    seq              BIGINT        NOT NULL AUTO_INCREMENT,
    id               CHAR(36)      NOT NULL,
    customer_id      CHAR(36)      NOT NULL,
    event_type       VARCHAR(128)  NOT NULL,
    resource_id      VARCHAR(64)   NOT NULL,
    destination      VARCHAR(16)   NOT NULL,
    uri              VARCHAR(2048) NOT NULL,
    method           VARCHAR(16)   NOT NULL,
    event_key        CHAR(64)      NOT NULL,
    payload          LONGTEXT      NOT NULL,
    status           VARCHAR(16)   NOT NULL,
    attempts         INT           NOT NULL,
    last_error       TEXT          NOT NULL,
    last_status_code INT           NOT NULL,
    next_try_ms      BIGINT        NOT NULL,
    lease_until_ms   BIGINT        NOT NULL,
    tm_create        VARCHAR(32)   NOT NULL,
    tm_update        VARCHAR(32)   NULL,
    PRIMARY KEY (seq),
    UNIQUE KEY uq_webhook_deliveries_id (id),
    UNIQUE KEY uq_webhook_deliveries_event (event_key, destination),
    KEY idx_webhook_deliveries_status_next (status, next_try_ms),
    KEY idx_webhook_deliveries_resource (resource_id, seq),
    KEY idx_webhook_deliveries_customer (customer_id, tm_create, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
