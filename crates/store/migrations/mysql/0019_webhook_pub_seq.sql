-- The publisher's sequence number of a delivery's event (its outbox row; 0 when the event had
-- none). Several webhook processes ingest one queue, so insert order (seq) can differ from
-- publish order; a resource's rows are sent in (pub_seq, seq) order instead.
ALTER TABLE webhook_deliveries ADD COLUMN pub_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX idx_webhook_deliveries_resource_pub ON webhook_deliveries (resource_id, pub_seq);
