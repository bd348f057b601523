-- Group calls (call service). Kept in step with ../mysql/0020_groupcall.sql.
-- A group call dials its destinations as outgoing calls (call_calls.groupcall_id names it):
-- all at once (ring_all) or one after another (linear, dial_index is the one ringing).
-- call_count is the number of its calls still live; variables (internal) seed each call's flow.
CREATE TABLE call_groupcalls (
    id                  CHAR(36)     NOT NULL PRIMARY KEY,
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
    tm_delete           VARCHAR(32)  NULL
);
CREATE INDEX idx_call_groupcalls_customer_tm_create ON call_groupcalls (customer_id, tm_create, id);
CREATE INDEX idx_call_groupcalls_tm_create ON call_groupcalls (tm_create, id);
