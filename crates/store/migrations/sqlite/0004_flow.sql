-- Flows and their runs (flow service). Kept in step with ../mysql/0004_flow.sql.
-- JSON values (actions, stack_map, current_action, executed_actions) are stored as text;
-- nil UUIDs ("00000000-...") stand for "none" in the CHAR(36) id columns.
CREATE TABLE flow_flows (
    id                  CHAR(36)     NOT NULL PRIMARY KEY,
    customer_id         CHAR(36)     NOT NULL,
    `type`              VARCHAR(16)  NOT NULL,
    name                VARCHAR(255) NOT NULL,
    detail              TEXT         NOT NULL,
    actions             TEXT         NOT NULL,
    direct_hash         VARCHAR(255) NOT NULL DEFAULT '',
    on_complete_flow_id CHAR(36)     NOT NULL,
    tm_create           VARCHAR(32)  NOT NULL,
    tm_update           VARCHAR(32)  NULL,
    tm_delete           VARCHAR(32)  NULL
);
CREATE INDEX idx_flow_flows_customer_tm_create ON flow_flows (customer_id, tm_create, id);
CREATE INDEX idx_flow_flows_tm_create ON flow_flows (tm_create, id);

CREATE TABLE flow_activeflows (
    id                      CHAR(36)     NOT NULL PRIMARY KEY,
    customer_id             CHAR(36)     NOT NULL,
    flow_id                 CHAR(36)     NOT NULL,
    status                  VARCHAR(16)  NOT NULL,
    reference_type          VARCHAR(32)  NOT NULL,
    reference_id            CHAR(36)     NOT NULL,
    reference_activeflow_id CHAR(36)     NOT NULL,
    on_complete_flow_id     CHAR(36)     NOT NULL,
    webhook_uri             VARCHAR(2048) NOT NULL DEFAULT '',
    webhook_method          VARCHAR(16)  NOT NULL DEFAULT '',
    stack_map               TEXT         NOT NULL,
    current_stack_id        CHAR(36)     NOT NULL,
    current_action          TEXT         NOT NULL,
    forward_stack_id        CHAR(36)     NOT NULL,
    forward_action_id       CHAR(36)     NOT NULL,
    execute_count           INTEGER      NOT NULL DEFAULT 0,
    executed_actions        TEXT         NOT NULL,
    tm_create               VARCHAR(32)  NOT NULL,
    tm_update               VARCHAR(32)  NULL,
    tm_delete               VARCHAR(32)  NULL
);
CREATE INDEX idx_flow_activeflows_customer_tm_create ON flow_activeflows (customer_id, tm_create, id);
CREATE INDEX idx_flow_activeflows_tm_create ON flow_activeflows (tm_create, id);
CREATE INDEX idx_flow_activeflows_reference_id ON flow_activeflows (reference_id);
