-- agent-manager: agents (the people who log in). Kept in step with ../mysql/0003_agent.sql.
-- `live_username` is the lower-cased username while the agent is live and NULL once deleted:
-- a unique index on it keeps usernames unique among live agents on both engines (MySQL has no
-- partial indexes, and NULLs never collide in a unique index).
CREATE TABLE agent_agents (
    id                 CHAR(36)     NOT NULL PRIMARY KEY,
    customer_id        CHAR(36)     NOT NULL,
    username           VARCHAR(255) NOT NULL,
    live_username      VARCHAR(255) NULL,
    password_hash      TEXT         NOT NULL,
    name               TEXT         NOT NULL,
    detail             TEXT         NOT NULL,
    ring_method        VARCHAR(16)  NOT NULL,
    status             VARCHAR(16)  NOT NULL,
    permission         INTEGER      NOT NULL,
    tag_ids            TEXT         NOT NULL,
    addresses          TEXT         NOT NULL,
    direct_hash        VARCHAR(64)  NOT NULL,
    tm_password_update TEXT         NOT NULL,
    tm_create          TEXT         NOT NULL,
    tm_update          TEXT         NULL,
    tm_delete          TEXT         NULL
);
CREATE UNIQUE INDEX agent_agents_live_username ON agent_agents (live_username);
CREATE INDEX agent_agents_customer_id_tm_create ON agent_agents (customer_id, tm_create);
