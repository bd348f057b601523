-- agent-manager: agents (the people who log in). Kept in step with ../sqlite/0003_agent.sql.
-- `live_username` is the lower-cased username while the agent is live and NULL once deleted:
-- a unique index on it keeps usernames unique among live agents on both engines (MySQL has no
-- partial indexes, and NULLs never collide in a unique index).
CREATE TABLE agent_agents (
    id                 CHAR(36)     NOT NULL,
    customer_id        CHAR(36)     NOT NULL,
    username           VARCHAR(255) NOT NULL,
    live_username      VARCHAR(255) NULL,
    password_hash      LONGTEXT     NOT NULL,
    name               LONGTEXT     NOT NULL,
    detail             LONGTEXT     NOT NULL,
    ring_method        VARCHAR(16)  NOT NULL,
    status             VARCHAR(16)  NOT NULL,
    permission         BIGINT       NOT NULL,
    tag_ids            LONGTEXT     NOT NULL,
    addresses          LONGTEXT     NOT NULL,
    direct_hash        VARCHAR(64)  NOT NULL,
    tm_password_update VARCHAR(32)  NOT NULL,
    tm_create          VARCHAR(32)  NOT NULL,
    tm_update          VARCHAR(32)  NULL,
    tm_delete          VARCHAR(32)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY agent_agents_live_username (live_username),
    KEY agent_agents_customer_id_tm_create (customer_id, tm_create)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
