-- customer-manager: customers and their access keys. Kept in step with ../mysql/0002_customer.sql.
CREATE TABLE customer_customers (
    id                           CHAR(36)     NOT NULL PRIMARY KEY,
    customer_id                  CHAR(36)     NOT NULL,
    name                         TEXT         NOT NULL,
    detail                       TEXT         NOT NULL,
    email                        VARCHAR(255) NOT NULL,
    phone_number                 VARCHAR(64)  NOT NULL,
    address                      TEXT         NOT NULL,
    webhook_method               VARCHAR(16)  NOT NULL,
    webhook_uri                  TEXT         NOT NULL,
    billing_account_id           CHAR(36)     NOT NULL,
    metadata                     TEXT         NOT NULL,
    email_verified               INTEGER      NOT NULL,
    status                       VARCHAR(16)  NOT NULL,
    identity_verification_status VARCHAR(16)  NOT NULL,
    terms_agreed_version         VARCHAR(64)  NOT NULL,
    terms_agreed_ip              VARCHAR(64)  NOT NULL,
    tm_deletion_scheduled        TEXT         NULL,
    tm_create                    TEXT         NOT NULL,
    tm_update                    TEXT         NULL,
    tm_delete                    TEXT         NULL
);
CREATE INDEX customer_customers_tm_create ON customer_customers (tm_create, id);
CREATE INDEX customer_customers_customer_id_tm_create ON customer_customers (customer_id, tm_create);
CREATE INDEX customer_customers_email ON customer_customers (email);

-- Only the SHA-256 of a token is kept; the token itself is shown once, at creation.
CREATE TABLE customer_accesskeys (
    id           CHAR(36)     NOT NULL PRIMARY KEY,
    customer_id  CHAR(36)     NOT NULL,
    name         TEXT         NOT NULL,
    detail       TEXT         NOT NULL,
    token_hash   CHAR(64)     NOT NULL,
    token_prefix VARCHAR(16)  NOT NULL,
    tm_expire    TEXT         NULL,
    tm_create    TEXT         NOT NULL,
    tm_update    TEXT         NULL,
    tm_delete    TEXT         NULL
);
CREATE UNIQUE INDEX customer_accesskeys_token_hash ON customer_accesskeys (token_hash);
CREATE INDEX customer_accesskeys_customer_id_tm_create ON customer_accesskeys (customer_id, tm_create);
