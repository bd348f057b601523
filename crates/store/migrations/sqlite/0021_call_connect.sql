-- The `connect` flow actions in progress (call service). Kept in step with
-- ../mysql/0021_call_connect.sql. One row per connect: the master call, the chained calls it
-- dialled, the one that answered first (bridged to the master) and the reason the master is
-- being hung up with, read back when its leg reports the hangup.
CREATE TABLE call_connects (
    id              CHAR(36)     NOT NULL PRIMARY KEY,
    customer_id     CHAR(36)     NOT NULL,
    master_call_id  CHAR(36)     NOT NULL,
    call_ids        TEXT         NOT NULL,
    status          VARCHAR(16)  NOT NULL,
    answer_call_id  CHAR(36)     NOT NULL,
    early_call_id   CHAR(36)     NOT NULL,
    early_media     INTEGER      NOT NULL,
    relay_reason    INTEGER      NOT NULL,
    first_reason    VARCHAR(16)  NOT NULL,
    master_reason   VARCHAR(16)  NOT NULL,
    tm_create       VARCHAR(32)  NOT NULL,
    tm_update       VARCHAR(32)  NULL
);
CREATE INDEX idx_call_connects_master ON call_connects (master_call_id);
