-- Production-like fixture for the HbOps test environment: several schemas, >= 30 tables,
-- foreign keys, indexes, views, a sequence, a function, a postgres_fdw user mapping for a role
-- the sandbox will not have (reproduces the reference pg_restore warning), the dot_tools
-- 991/992 pairing, and incompressible text so the dump is tens of MB.
\set ON_ERROR_STOP on
SELECT setseed(0.4242);

CREATE ROLE workflow_admin LOGIN PASSWORD 'fixture-role-secret';
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
CREATE SERVER workflow_remote FOREIGN DATA WRAPPER postgres_fdw
  OPTIONS (host '127.0.0.1', port '5432', dbname 'directus');
CREATE USER MAPPING FOR workflow_admin SERVER workflow_remote
  OPTIONS (user 'workflow_admin', password 'fdw-mapping-secret');

CREATE SCHEMA app;
CREATE SCHEMA audit;
CREATE SCHEMA etl;

CREATE SEQUENCE app.ticket_number_seq START 1000;

CREATE FUNCTION app.touch_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.updated_at := now(); RETURN NEW; END $$;

-- Directus-style system tables in public.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['directus_users','directus_roles','directus_collections','directus_fields',
    'directus_files','directus_folders','directus_permissions','directus_presets','directus_relations',
    'directus_revisions','directus_settings','directus_webhooks','directus_flows','directus_operations',
    'directus_panels','directus_dashboards','directus_notifications','directus_shares']
  LOOP
    EXECUTE format('CREATE TABLE public.%I (id serial PRIMARY KEY, name text NOT NULL, payload text, created_at timestamptz NOT NULL DEFAULT now())', t);
    EXECUTE format('INSERT INTO public.%I (name, payload) SELECT %L || g, md5(g::text) FROM generate_series(1, 20 + (length(%L) * 7)) g', t, t, t);
  END LOOP;
END $$;

CREATE TABLE public.dot_tools (
  id integer PRIMARY KEY,
  name text NOT NULL,
  paired_with integer REFERENCES public.dot_tools(id) DEFERRABLE INITIALLY DEFERRED
);
INSERT INTO public.dot_tools (id, name, paired_with)
  SELECT g, 'tool-' || g, NULL FROM generate_series(1, 990) g;
INSERT INTO public.dot_tools (id, name, paired_with) VALUES
  (991, 'dot-tool-left', 992),
  (992, 'dot-tool-right', 991);

CREATE TABLE app.customers (
  id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, display_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE app.products (
  id bigserial PRIMARY KEY, sku text NOT NULL UNIQUE, title text NOT NULL, price_cents integer NOT NULL CHECK (price_cents >= 0));
CREATE TABLE app.orders (
  id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES app.customers(id),
  ticket bigint NOT NULL DEFAULT nextval('app.ticket_number_seq'),
  status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE app.order_lines (
  id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES app.orders(id) ON DELETE CASCADE,
  product_id bigint NOT NULL REFERENCES app.products(id), quantity integer NOT NULL);
CREATE TABLE app.invoices (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES app.orders(id), total_cents bigint NOT NULL);
CREATE TABLE app.payments (id bigserial PRIMARY KEY, invoice_id bigint NOT NULL REFERENCES app.invoices(id), amount_cents bigint NOT NULL);
CREATE TABLE app.addresses (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES app.customers(id), line1 text NOT NULL);
CREATE TABLE app.tags (id serial PRIMARY KEY, label text NOT NULL UNIQUE);
CREATE TABLE app.product_tags (product_id bigint REFERENCES app.products(id), tag_id int REFERENCES app.tags(id), PRIMARY KEY (product_id, tag_id));
CREATE TABLE app.empty_table (id int PRIMARY KEY);
CREATE INDEX orders_customer_idx ON app.orders (customer_id);
CREATE INDEX orders_status_created_idx ON app.orders (status, created_at);
CREATE INDEX order_lines_order_idx ON app.order_lines (order_id);
CREATE TRIGGER customers_touch BEFORE UPDATE ON app.customers FOR EACH ROW EXECUTE FUNCTION app.touch_updated();

INSERT INTO app.customers (email, display_name) SELECT 'c' || g || '@example.test', 'Customer ' || g FROM generate_series(1, 5000) g;
INSERT INTO app.products (sku, title, price_cents) SELECT 'SKU-' || g, 'Product ' || g, (g * 37) % 10000 FROM generate_series(1, 800) g;
INSERT INTO app.orders (customer_id, status) SELECT 1 + (g % 5000), (ARRAY['new','paid','shipped','closed'])[1 + g % 4] FROM generate_series(1, 20000) g;
INSERT INTO app.order_lines (order_id, product_id, quantity) SELECT 1 + (g % 20000), 1 + (g % 800), 1 + g % 5 FROM generate_series(1, 60000) g;
INSERT INTO app.invoices (order_id, total_cents) SELECT id, id * 100 FROM app.orders WHERE id % 2 = 0;
INSERT INTO app.payments (invoice_id, amount_cents) SELECT id, total_cents FROM app.invoices WHERE id % 3 <> 0;
INSERT INTO app.addresses (customer_id, line1) SELECT id, id || ' Fixture Street' FROM app.customers;
INSERT INTO app.tags (label) SELECT 'tag-' || g FROM generate_series(1, 50) g;
INSERT INTO app.product_tags SELECT p, 1 + (p % 50) FROM generate_series(1, 800) p;

CREATE VIEW app.open_orders AS SELECT o.id, c.email, o.status FROM app.orders o JOIN app.customers c ON c.id = o.customer_id WHERE o.status <> 'closed';
CREATE MATERIALIZED VIEW app.daily_revenue AS SELECT date_trunc('day', created_at) AS day, count(*) AS orders FROM app.orders GROUP BY 1;

-- Incompressible-ish payload: random hex text, so the -Fc -Z6 dump is tens of MB.
CREATE TABLE audit.events (
  id bigserial PRIMARY KEY, occurred_at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL, body text NOT NULL, digest text NOT NULL);
INSERT INTO audit.events (actor, body, digest)
  SELECT 'actor-' || (g % 97), md5(random()::text) || md5(random()::text) || md5(random()::text), md5(random()::text)
  FROM generate_series(1, 400000) g;
CREATE INDEX events_actor_idx ON audit.events (actor);
CREATE TABLE audit.logins (id bigserial PRIMARY KEY, customer_id bigint REFERENCES app.customers(id), at timestamptz NOT NULL DEFAULT now());
INSERT INTO audit.logins (customer_id) SELECT 1 + (g % 5000) FROM generate_series(1, 30000) g;
CREATE TABLE audit.changes (id bigserial PRIMARY KEY, table_name text NOT NULL, row_id bigint NOT NULL);
INSERT INTO audit.changes (table_name, row_id) SELECT 'app.orders', g FROM generate_series(1, 15000) g;

CREATE TABLE etl.batches (id serial PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE etl.batch_rows (id bigserial PRIMARY KEY, batch_id int NOT NULL REFERENCES etl.batches(id), raw text NOT NULL);
CREATE TABLE etl.staging_customers (email text, display_name text);
CREATE TABLE etl.errors (id serial PRIMARY KEY, batch_id int REFERENCES etl.batches(id), message text);
INSERT INTO etl.batches DEFAULT VALUES;
INSERT INTO etl.batches DEFAULT VALUES;
INSERT INTO etl.batch_rows (batch_id, raw) SELECT 1 + g % 2, md5(random()::text) FROM generate_series(1, 25000) g;
INSERT INTO etl.staging_customers SELECT 's' || g || '@example.test', 'Staged ' || g FROM generate_series(1, 300) g;
INSERT INTO etl.errors (batch_id, message) VALUES (1, 'fixture error row');

ANALYZE;
