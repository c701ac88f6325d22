-- Run once by the postgres image when its volume is new: a table for the
-- JDBC source example (deploy/examples/jdbc-source.json) to read.
CREATE TABLE orders (
    id         SERIAL PRIMARY KEY,
    customer   TEXT           NOT NULL,
    amount     NUMERIC(10, 2) NOT NULL,
    created_at TIMESTAMPTZ    NOT NULL DEFAULT now()
);

INSERT INTO orders (customer, amount) VALUES
    ('ada', 12.50),
    ('grace', 99.00),
    ('linus', 7.25);
