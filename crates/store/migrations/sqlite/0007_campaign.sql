-- Outplans, the dialling strategies of campaigns (campaign service). Kept in step with
-- ../mysql/0007_campaign.sql. source is a CommonAddress as JSON text; times are milliseconds.
CREATE TABLE campaign_outplans (
    id              CHAR(36)     NOT NULL PRIMARY KEY,
    customer_id     CHAR(36)     NOT NULL,
    name            VARCHAR(255) NOT NULL,
    detail          TEXT         NOT NULL,
    source          TEXT         NOT NULL,
    dial_timeout    INTEGER      NOT NULL,
    try_interval    INTEGER      NOT NULL,
    max_try_count_0 INTEGER      NOT NULL,
    max_try_count_1 INTEGER      NOT NULL,
    max_try_count_2 INTEGER      NOT NULL,
    max_try_count_3 INTEGER      NOT NULL,
    max_try_count_4 INTEGER      NOT NULL,
    tm_create       VARCHAR(32)  NOT NULL,
    tm_update       VARCHAR(32)  NULL,
    tm_delete       VARCHAR(32)  NULL
);
CREATE INDEX idx_campaign_outplans_customer_tm_create ON campaign_outplans (customer_id, tm_create, id);
CREATE INDEX idx_campaign_outplans_tm_create ON campaign_outplans (tm_create, id);
