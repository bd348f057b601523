-- Tags (tag service). Kept in step with ../sqlite/0006_tag.sql.
-- live_name holds the name while the row is live and NULL once deleted, so the unique index
-- keeps names unique per customer among live tags while deleted tags may repeat a name.
CREATE TABLE tag_tags (
    id          CHAR(36)     NOT NULL,
    customer_id CHAR(36)     NOT NULL,
    name        VARCHAR(255) NOT NULL,
    live_name   VARCHAR(255) NULL,
    detail      TEXT         NOT NULL,
    tm_create   VARCHAR(32)  NOT NULL,
    tm_update   VARCHAR(32)  NULL,
    tm_delete   VARCHAR(32)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_tag_tags_customer_live_name (customer_id, live_name),
    KEY idx_tag_tags_customer_tm_create (customer_id, tm_create, id),
    KEY idx_tag_tags_tm_create (tm_create, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
