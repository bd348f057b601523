-- Counting a customer's live flows (the per-customer cap on create) reads only this index.
CREATE INDEX idx_flow_flows_customer_live ON flow_flows (customer_id, tm_delete);
