"""The database: peewee models, migrations, engines (SQLite, PostgreSQL), change feeds,
database files, faults and lock files. Only the broker writes through it."""
