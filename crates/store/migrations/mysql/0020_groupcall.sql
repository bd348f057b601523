-- Group calls (call service). Kept in step with ../sqlite/0020_groupcall.sql.
-- A group call dials its destinations as outgoing calls (call_calls.groupcall_id names it):
-- all at once (ring_all) or one after another (linear, dial_index is the one ringing).
-- call_count is the number of its calls still live; variables (internal) seed each call's flow.
CREATE TABLE call_groupcalls (
    id                  CHAR(36)     NOT NULL,
    customer_id         CHAR(36)     NOT NULL,
    owner_type          VARCHAR(32)  NOT NULL,
    owner_id            CHAR(36)     NOT NULL,
    status              VARCHAR(16)  NOT NULL,
    flow_id             CHAR(36)     NOT NULL,
    source              TEXT         NOT NULL,
    destinations        TEXT         NOT NULL,
    master_call_id      CHAR(36)     NOT NULL,
    master_groupcall_id CHAR(36)     NOT NULL,
    ring_method         VARCHAR(16)  NOT NULL,
    answer_method       VARCHAR(16)  NOT NULL,
    answer_call_id      CHAR(36)     NOT NULL,
    call_ids            TEXT         NOT NULL,
    answer_groupcall_id CHAR(36)     NOT NULL,
    groupcall_ids       TEXT         NOT NULL,
    call_count          INTEGER      NOT NULL,
    groupcall_count     INTEGER      NOT NULL,
    dial_index          INTEGER      NOT NULL,
    variables           TEXT         NOT NULL,
    tm_create           VARCHAR(32)  NOT NULL,
    tm_update           VARCHAR(32)  NULL,
    tm_delete           VARCHAR(32)  NULL,
    PRIMARY KEY (id),
    KEY idx_call_groupcalls_customer_tm_create (customer_id, tm_create, id),
    KEY idx_call_groupcalls_tm_create (tm_create, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
