-- customer-manager: customers and their access keys. Kept in step with ../sqlite/0002_customer.sql.
CREATE TABLE customer_customers (
    id                           CHAR(36)     NOT NULL,
    customer_id                  CHAR(36)     NOT NULL,
    name                         LONGTEXT     NOT NULL,
    detail                       LONGTEXT     NOT NULL,
    email                        VARCHAR(255) NOT NULL,
    phone_number                 VARCHAR(64)  NOT NULL,
    address                      LONGTEXT     NOT NULL,
    webhook_method               VARCHAR(16)  NOT NULL,
    webhook_uri                  LONGTEXT     NOT NULL,
    billing_account_id           CHAR(36)     NOT NULL,
    metadata                     LONGTEXT     NOT NULL,
    email_verified               BIGINT       NOT NULL,
    status                       VARCHAR(16)  NOT NULL,
    identity_verification_status VARCHAR(16)  NOT NULL,
    terms_agreed_version         VARCHAR(64)  NOT NULL,
    terms_agreed_ip              VARCHAR(64)  NOT NULL,
    tm_deletion_scheduled        VARCHAR(32)  NULL,
    tm_create                    VARCHAR(32)  NOT NULL,
    tm_update                    VARCHAR(32)  NULL,
    tm_delete                    VARCHAR(32)  NULL,
    PRIMARY KEY (id),
    KEY customer_customers_tm_create (tm_create, id),
    KEY customer_customers_customer_id_tm_create (customer_id, tm_create),
    KEY customer_customers_email (email)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Only the SHA-256 of a token is kept; the token itself is shown once, at creation.
CREATE TABLE customer_accesskeys (
    id           CHAR(36)     NOT NULL,
    customer_id  CHAR(36)     NOT NULL,
    name         LONGTEXT     NOT NULL,
    detail       LONGTEXT     NOT NULL,
    token_hash   CHAR(64)     NOT NULL,
    token_prefix VARCHAR(16)  NOT NULL,
    tm_expire    VARCHAR(32)  NULL,
    tm_create    VARCHAR(32)  NOT NULL,
    tm_update    VARCHAR(32)  NULL,
    tm_delete    VARCHAR(32)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY customer_accesskeys_token_hash (token_hash),
    KEY customer_accesskeys_customer_id_tm_create (customer_id, tm_create)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
