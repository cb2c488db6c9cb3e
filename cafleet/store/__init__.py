"""The database. Only the broker writes through it.

- schema: `models` (peewee models), `migrations` (the ordered, append-only list)
- engines: `db` (opening, pragmas, upgrading on first use), `db_create` (a SQLite file built
  whole), `postgres`, `lazy_drivers` (PostgreSQL drivers only in a process that uses them)
- faults: `db_faults` (a fault of the database, told from a bug), `engine_faults` (the
  engines raise them), `db_files` (where the file may live, checked before opening it)
- `changes` (noticing another process's commit), `lock_files` (locks and the courier's log)
"""
