-- The flow engine's state (flow service). Kept in step with ../sqlite/0012_flow_engine.sql.
-- end_reason says why an activeflow ended; revision guards each engine step (a step that finds
-- another revision lost a race and is retried). Variables live in their own table, one JSON
-- object per activeflow, written in the same transaction as the step that changed them.
ALTER TABLE flow_activeflows ADD COLUMN end_reason VARCHAR(1024) NOT NULL DEFAULT '';
ALTER TABLE flow_activeflows ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

CREATE TABLE flow_variables (
    activeflow_id CHAR(36)    NOT NULL,
    customer_id   CHAR(36)    NOT NULL,
    variables     LONGTEXT    NOT NULL,
    tm_create     VARCHAR(32) NOT NULL,
    tm_update     VARCHAR(32) NULL,
    PRIMARY KEY (activeflow_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
