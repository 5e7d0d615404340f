"""Alembic's entry point. The store passes the connection it opened (already in a
transaction and, on PostgreSQL, holding the migration lock), so migrations run inside
that one transaction: a failed upgrade leaves the schema as it was."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    # SQLite alters tables by copying them; batch mode does that for later migrations.
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
