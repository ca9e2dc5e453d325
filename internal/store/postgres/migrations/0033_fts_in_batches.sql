-- Nothing: SQLite fills its search index in batches from this migration
-- on; PostgreSQL's text-search index is kept as rows are written (GIN's
-- pending list already gathers them). The number is kept in step.
SELECT 1;
