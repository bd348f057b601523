-- Numbers the platform owns (number service). Kept in step with ../sqlite/0005_number.sql.
-- live_number holds the number while the row is live and NULL once deleted, so the unique
-- index keeps live numbers unique platform-wide while deleted rows may repeat a number.
CREATE TABLE number_numbers (
    id                CHAR(36)     NOT NULL,
    customer_id       CHAR(36)     NOT NULL,
    number            VARCHAR(32)  NOT NULL,
    live_number       VARCHAR(32)  NULL,
    type              VARCHAR(16)  NOT NULL,
    call_flow_id      CHAR(36)     NOT NULL,
    message_flow_id   CHAR(36)     NOT NULL,
    name              VARCHAR(255) NOT NULL,
    detail            TEXT         NOT NULL,
    status            VARCHAR(16)  NOT NULL,
    t38_enabled       INT          NOT NULL DEFAULT 0,
    emergency_enabled INT          NOT NULL DEFAULT 0,
    metadata          TEXT         NOT NULL,
    tm_purchase       VARCHAR(32)  NULL,
    tm_renew          VARCHAR(32)  NULL,
    tm_create         VARCHAR(32)  NOT NULL,
    tm_update         VARCHAR(32)  NULL,
    tm_delete         VARCHAR(32)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_number_numbers_live_number (live_number),
    KEY idx_number_numbers_customer_tm_create (customer_id, tm_create, id),
    KEY idx_number_numbers_tm_create (tm_create, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
