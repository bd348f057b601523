-- Outplans, the dialling strategies of campaigns (campaign service). Kept in step with
-- ../sqlite/0007_campaign.sql. source is a CommonAddress as JSON text; times are milliseconds.
CREATE TABLE campaign_outplans (
    id              CHAR(36)     NOT NULL,
    customer_id     CHAR(36)     NOT NULL,
    name            VARCHAR(255) NOT NULL,
    detail          TEXT         NOT NULL,
    source          TEXT         NOT NULL,
    dial_timeout    INT          NOT NULL,
    try_interval    INT          NOT NULL,
    max_try_count_0 INT          NOT NULL,
    max_try_count_1 INT          NOT NULL,
    max_try_count_2 INT          NOT NULL,
    max_try_count_3 INT          NOT NULL,
    max_try_count_4 INT          NOT NULL,
    tm_create       VARCHAR(32)  NOT NULL,
    tm_update       VARCHAR(32)  NULL,
    tm_delete       VARCHAR(32)  NULL,
    PRIMARY KEY (id),
    KEY idx_campaign_outplans_customer_tm_create (customer_id, tm_create, id),
    KEY idx_campaign_outplans_tm_create (tm_create, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
