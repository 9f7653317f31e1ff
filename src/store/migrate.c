/* migrate.c — applies store_migrations in order, each recorded in schema_migrations, all
 * inside one transaction so a failure leaves the schema as it was. Two servers starting at
 * once must not both migrate: PostgreSQL takes a transaction-scoped advisory lock, SQLite's
 * BEGIN IMMEDIATE holds the write lock (the second waits on the busy timeout, then sees the
 * work done). */
#include "store/internal.h"
#include "core/buf.h"
#include "core/timeutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATION_LOCK_KEY 7263540001LL      /* arbitrary, fixed: "rodeo migrations" */

int store_schema_version_known(void)
{
    int v = 0;
    for (int i = 0; i < store_migrations_count; i++)
        if (store_migrations[i].version > v) v = store_migrations[i].version;
    return v;
}

char *store_migration_render(const char *sql, db_dialect_t dialect)
{
    static const struct { const char *token, *sqlite, *postgres; } tokens[] = {
        {"{{ID}}", "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY"},
        {"{{BLOB}}", "BLOB", "BYTEA"},
    };
    buf_t b = {0};
    buf_reserve(&b, strlen(sql) + 1);
    while (*sql) {
        bool hit = false;
        for (size_t t = 0; t < sizeof tokens / sizeof tokens[0]; t++) {
            size_t n = strlen(tokens[t].token);
            if (!strncmp(sql, tokens[t].token, n)) {
                buf_puts(&b, dialect == DB_SQLITE ? tokens[t].sqlite : tokens[t].postgres);
                sql += n;
                hit = true;
                break;
            }
        }
        if (!hit) buf_putc(&b, *sql++);
    }
    return buf_steal(&b);
}

int store_migrate(store_t *st, char *err, size_t errlen)
{
    db_conn_t *c = db_acquire(st->pool);
    if (!c) {
        snprintf(err, errlen, "migrate: no database connection");
        return -1;
    }
    int version = -1;
    int known = store_schema_version_known();
    if (db_begin(c) != DB_OK) {
        snprintf(err, errlen, "migrate: begin: %s", db_errmsg(c));
        goto out;
    }
    if (st->dialect == DB_POSTGRES) {
        db_value_t key[] = {db_int(MIGRATION_LOCK_KEY)};
        db_result_t *r = NULL;
        if (db_query(c, "SELECT pg_advisory_xact_lock($1)", key, 1, &r) != DB_OK) {
            snprintf(err, errlen, "migrate: lock: %s", db_errmsg(c));
            goto out;
        }
        db_result_free(r);
    }
    if (db_exec_script(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          " version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)") != DB_OK) {
        snprintf(err, errlen, "migrate: schema_migrations: %s", db_errmsg(c));
        goto out;
    }
    int64_t current = 0;
    if (db_query_int64(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, 0,
                       &current) != DB_OK) {
        snprintf(err, errlen, "migrate: read version: %s", db_errmsg(c));
        goto out;
    }
    if (current > known) {
        snprintf(err, errlen, "database schema version %lld is newer than this binary's %d; "
                 "upgrade rodeo", (long long)current, known);
        goto out;
    }
    for (int i = 0; i < store_migrations_count; i++) {
        const store_migration_t *m = &store_migrations[i];
        if (m->version <= current) continue;
        char *sql = store_migration_render(m->sql, st->dialect);
        int rc = db_exec_script(c, sql);
        free(sql);
        if (rc != DB_OK) {
            snprintf(err, errlen, "migration %d (%s): %s", m->version, m->name, db_errmsg(c));
            goto out;
        }
        db_value_t p[] = {db_int(m->version), db_int(time_now_us())};
        if (db_exec(c, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", p,
                    2, NULL) != DB_OK) {
            snprintf(err, errlen, "migration %d: record: %s", m->version, db_errmsg(c));
            goto out;
        }
        current = m->version;
    }
    if (db_commit(c) != DB_OK) {
        snprintf(err, errlen, "migrate: commit: %s", db_errmsg(c));
        goto out;
    }
    version = (int)current;
out:
    db_release(c);                 /* rolls back when still inside the transaction */
    return version;
}
