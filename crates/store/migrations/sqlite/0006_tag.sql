-- Tags (tag service). Kept in step with ../mysql/0006_tag.sql.
-- live_name holds the name while the row is live and NULL once deleted, so the unique index
-- keeps names unique per customer among live tags while deleted tags may repeat a name.
CREATE TABLE tag_tags (
    id          CHAR(36)     NOT NULL PRIMARY KEY,
    customer_id CHAR(36)     NOT NULL,
    name        VARCHAR(255) NOT NULL,
    live_name   VARCHAR(255) NULL,
    detail      TEXT         NOT NULL,
    tm_create   VARCHAR(32)  NOT NULL,
    tm_update   VARCHAR(32)  NULL,
    tm_delete   VARCHAR(32)  NULL
);
CREATE UNIQUE INDEX uq_tag_tags_customer_live_name ON tag_tags (customer_id, live_name);
CREATE INDEX idx_tag_tags_customer_tm_create ON tag_tags (customer_id, tm_create, id);
CREATE INDEX idx_tag_tags_tm_create ON tag_tags (tm_create, id);
