-- Recordings of calls (call service). Kept in step with ../sqlite/0018_call_recording.sql.
-- path and node_id say where the WAV is (the media node that wrote it); they stay internal.
CREATE TABLE call_recordings (
    id             CHAR(36)      NOT NULL,
    customer_id    CHAR(36)      NOT NULL,
    owner_type     VARCHAR(32)   NOT NULL,
    owner_id       CHAR(36)      NOT NULL,
    reference_type VARCHAR(16)   NOT NULL,
    reference_id   CHAR(36)      NOT NULL,
    status         VARCHAR(16)   NOT NULL,
    format         VARCHAR(8)    NOT NULL,
    activeflow_id  CHAR(36)      NOT NULL,
    on_end_flow_id CHAR(36)      NOT NULL,
    path           VARCHAR(1024) NOT NULL,
    node_id        VARCHAR(128)  NOT NULL,
    duration_ms    BIGINT        NOT NULL DEFAULT 0,
    tm_start       VARCHAR(32)   NULL,
    tm_end         VARCHAR(32)   NULL,
    tm_create      VARCHAR(32)   NOT NULL,
    tm_update      VARCHAR(32)   NULL,
    tm_delete      VARCHAR(32)   NULL,
    PRIMARY KEY (id),
    KEY idx_call_recordings_customer_tm_create (customer_id, tm_create, id),
    KEY idx_call_recordings_tm_create (tm_create, id),
    KEY idx_call_recordings_reference (reference_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
-- Remaining dial attempts of an outgoing call (JSON list), tried in order when a route fails.
ALTER TABLE call_calls ADD COLUMN dial_plan TEXT NULL;
