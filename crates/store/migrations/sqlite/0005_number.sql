-- Numbers the platform owns (number service). Kept in step with ../mysql/0005_number.sql.
-- live_number holds the number while the row is live and NULL once deleted, so the unique
-- index keeps live numbers unique platform-wide while deleted rows may repeat a number.
CREATE TABLE number_numbers (
    id                CHAR(36)     NOT NULL PRIMARY KEY,
    customer_id       CHAR(36)     NOT NULL,
    number            VARCHAR(32)  NOT NULL,
    live_number       VARCHAR(32)  NULL,
    type              VARCHAR(16)  NOT NULL,
    call_flow_id      CHAR(36)     NOT NULL,
    message_flow_id   CHAR(36)     NOT NULL,
    name              VARCHAR(255) NOT NULL,
    detail            TEXT         NOT NULL,
    status            VARCHAR(16)  NOT NULL,
    t38_enabled       INTEGER      NOT NULL DEFAULT 0,
    emergency_enabled INTEGER      NOT NULL DEFAULT 0,
    metadata          TEXT         NOT NULL,
    tm_purchase       VARCHAR(32)  NULL,
    tm_renew          VARCHAR(32)  NULL,
    tm_create         VARCHAR(32)  NOT NULL,
    tm_update         VARCHAR(32)  NULL,
    tm_delete         VARCHAR(32)  NULL
);
CREATE UNIQUE INDEX uq_number_numbers_live_number ON number_numbers (live_number);
CREATE INDEX idx_number_numbers_customer_tm_create ON number_numbers (customer_id, tm_create, id);
CREATE INDEX idx_number_numbers_tm_create ON number_numbers (tm_create, id);
