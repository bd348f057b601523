-- Calls (call service). Kept in step with ../mysql/0017_call.sql.
-- A call's id is the id of its leg on the media node (node_id), so media events name the call.
-- op_id/op_action_id hold the media operation the current flow action waits for: an event
-- with another op id is stale and ignored.
CREATE TABLE call_calls (
    id               CHAR(36)     NOT NULL PRIMARY KEY,
    customer_id      CHAR(36)     NOT NULL,
    owner_type       VARCHAR(32)  NOT NULL,
    owner_id         CHAR(36)     NOT NULL,
    flow_id          CHAR(36)     NOT NULL,
    activeflow_id    CHAR(36)     NOT NULL,
    type             VARCHAR(16)  NOT NULL,
    master_call_id   CHAR(36)     NOT NULL,
    chained_call_ids TEXT         NOT NULL,
    recording_id     CHAR(36)     NOT NULL,
    recording_ids    TEXT         NOT NULL,
    groupcall_id     CHAR(36)     NOT NULL,
    source           TEXT         NOT NULL,
    destination      TEXT         NOT NULL,
    status           VARCHAR(16)  NOT NULL,
    action           TEXT         NOT NULL,
    direction        VARCHAR(16)  NOT NULL,
    mute_direction   VARCHAR(8)   NOT NULL,
    hangup_by        VARCHAR(8)   NOT NULL,
    hangup_reason    VARCHAR(16)  NOT NULL,
    metadata         TEXT         NOT NULL,
    node_id          VARCHAR(128) NOT NULL,
    op_id            CHAR(36)     NOT NULL,
    op_action_id     CHAR(36)     NOT NULL,
    tm_progressing   VARCHAR(32)  NULL,
    tm_ringing       VARCHAR(32)  NULL,
    tm_hangup        VARCHAR(32)  NULL,
    tm_create        VARCHAR(32)  NOT NULL,
    tm_update        VARCHAR(32)  NULL,
    tm_delete        VARCHAR(32)  NULL
);
CREATE INDEX idx_call_calls_customer_tm_create ON call_calls (customer_id, tm_create, id);
CREATE INDEX idx_call_calls_tm_create ON call_calls (tm_create, id);
CREATE INDEX idx_call_calls_activeflow ON call_calls (activeflow_id);
