/* postgres.c — the PostgreSQL driver behind db.h (libpq). Each pooled connection keeps the
 * statements it has prepared (PQprepare, named s1, s2, ... per connection) keyed by SQL
 * text, so a hot query is parsed and planned once per connection. Parameters travel as text
 * (blobs as binary) with the parameter types taken from the first call; results come back as
 * text and are converted by column type into the shared result set.
 * RODEO_PG_PREPARE=0 switches to unprepared PQexecParams (kept to measure the difference; see
 * bench/results/store.md). */
#include "store/db_driver.h"
#include "core/buf.h"
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 64
/* Type OIDs from pg_type.h (stable since forever; the server headers are not needed). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

typedef struct {
    PGconn         *pg;
    db_stmt_cache_t cache;          /* SQL text -> statement number (as a pointer) */
    uintptr_t       next_stmt;
    bool            unprepared;     /* RODEO_PG_PREPARE=0: PQexecParams every time (for measuring) */
    char            err[512];
} pg_conn_t;

static void quiet_notices(void *arg, const char *msg) { (void)arg; (void)msg; }

static void *pg_connect(const char *target, char *err, size_t errlen)
{
    PGconn *pg = PQconnectdb(target);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, errlen, "postgres connect: %s", pg ? PQerrorMessage(pg) : "out of memory");
        size_t l = strlen(err);
        while (l && (err[l - 1] == '\n' || err[l - 1] == ' ')) err[--l] = 0;
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, quiet_notices, NULL);
    pg_conn_t *c = xcalloc(1, sizeof *c);
    c->pg = pg;
    c->next_stmt = 1;
    const char *prep = getenv("RODEO_PG_PREPARE");
    c->unprepared = prep && !strcmp(prep, "0");
    return c;
}

static void pg_disconnect(void *h)
{
    pg_conn_t *c = h;
    if (!c) return;
    db_stmt_cache_clear(&c->cache);    /* no free_fn: statements die with the connection */
    PQfinish(c->pg);
    free(c);
}

static void set_err(pg_conn_t *c, const PGresult *res)
{
    const char *m = res ? PQresultErrorMessage(res) : NULL;
    if (!m || !*m) m = PQerrorMessage(c->pg);
    snprintf(c->err, sizeof c->err, "%s", m);
    size_t l = strlen(c->err);
    while (l && (c->err[l - 1] == '\n' || c->err[l - 1] == ' ')) c->err[--l] = 0;
    for (char *q = c->err; *q; q++)      /* one log line per event */
        if (*q == '\n') *q = ' ';
}

static int classify(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state && !strcmp(state, "23505")) return DB_CONFLICT;    /* unique_violation */
    return DB_ERROR;
}

static void append_rows(const PGresult *res, db_result_t *out)
{
    int nc = PQnfields(res), nr = PQntuples(res);
    if (!db_result_has_cols(out)) {
        db_result_set_cols(out, nc);
        for (int i = 0; i < nc; i++) db_result_set_colname(out, i, PQfname(res, i));
    }
    for (int r = 0; r < nr; r++) {
        db_result_add_row(out);
        for (int i = 0; i < nc; i++) {
            if (PQgetisnull(res, r, i)) continue;
            const char *v = PQgetvalue(res, r, i);
            switch (PQftype(res, i)) {
            case OID_INT8: case OID_INT2: case OID_INT4: case OID_OID:
                db_result_put_int(out, i, strtoll(v, NULL, 10));
                break;
            case OID_BOOL:
                db_result_put_int(out, i, v[0] == 't');
                break;
            case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC:
                db_result_put_double(out, i, strtod(v, NULL));
                break;
            case OID_BYTEA: {
                size_t len = 0;
                unsigned char *b = PQunescapeBytea((const unsigned char *)v, &len);
                db_result_put_blob(out, i, b, b ? len : 0);
                PQfreemem(b);
                break;
            }
            default:
                db_result_put_text(out, i, v, (size_t)PQgetlength(res, r, i));
                break;
            }
        }
    }
}

static int pg_run(void *h, const char *sql, const db_value_t *params, int n, db_result_t *out,
                  int64_t *changes)
{
    pg_conn_t *c = h;
    c->err[0] = 0;
    if (n > MAX_PARAMS) {
        snprintf(c->err, sizeof c->err, "too many parameters (%d > %d)", n, MAX_PARAMS);
        return DB_ERROR;
    }
    const char *values[MAX_PARAMS];
    int lengths[MAX_PARAMS], formats[MAX_PARAMS];
    Oid types[MAX_PARAMS];
    char nums[MAX_PARAMS][32];
    char *owned[MAX_PARAMS];
    int nowned = 0;
    for (int i = 0; i < n; i++) {
        const db_value_t *v = &params[i];
        lengths[i] = 0;
        formats[i] = 0;
        types[i] = 0;
        switch (v->type) {
        case DB_T_INT:
            snprintf(nums[i], sizeof nums[i], "%lld", (long long)v->i);
            values[i] = nums[i];
            types[i] = OID_INT8;
            break;
        case DB_T_DOUBLE:
            snprintf(nums[i], sizeof nums[i], "%.17g", v->d);
            values[i] = nums[i];
            types[i] = OID_FLOAT8;
            break;
        case DB_T_TEXT:
            if (v->len == (size_t)-1) values[i] = v->p;
            else values[i] = owned[nowned++] = xstrndup(v->p, v->len);
            break;
        case DB_T_BLOB:
            values[i] = v->p;
            lengths[i] = (int)v->len;
            formats[i] = 1;
            types[i] = OID_BYTEA;
            break;
        default:
            values[i] = NULL;
            break;
        }
    }

    PGresult *res;
    if (n == 0 && !out) {
        res = PQexec(c->pg, sql);        /* BEGIN/COMMIT/ROLLBACK and other one-offs */
    } else if (c->unprepared) {
        res = PQexecParams(c->pg, sql, n, types, values, lengths, formats, 0);
    } else {
        uintptr_t id = (uintptr_t)db_stmt_cache_get(&c->cache, sql);
        char name[32];
        if (!id && c->cache.count >= DB_STMT_CACHE_MAX) {
            PGresult *d = PQexec(c->pg, "DEALLOCATE ALL");
            bool ok = PQresultStatus(d) == PGRES_COMMAND_OK;
            PQclear(d);
            if (ok) db_stmt_cache_clear(&c->cache);
        }
        if (!id) {
            id = c->next_stmt++;
            snprintf(name, sizeof name, "s%lu", (unsigned long)id);
            PGresult *pr = PQprepare(c->pg, name, sql, n, types);
            if (PQresultStatus(pr) != PGRES_COMMAND_OK) {
                set_err(c, pr);
                int rc = classify(pr);
                PQclear(pr);
                for (int i = 0; i < nowned; i++) free(owned[i]);
                return rc;
            }
            PQclear(pr);
            db_stmt_cache_put(&c->cache, sql, (void *)id);
        }
        snprintf(name, sizeof name, "s%lu", (unsigned long)id);
        res = PQexecPrepared(c->pg, name, n, values, lengths, formats, 0);
    }
    for (int i = 0; i < nowned; i++) free(owned[i]);

    int rc = DB_OK;
    ExecStatusType s = PQresultStatus(res);
    if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
        if (out) {
            if (s == PGRES_TUPLES_OK) append_rows(res, out);
            else if (!db_result_has_cols(out)) db_result_set_cols(out, 0);
        }
        const char *t = PQcmdTuples(res);
        *changes = (t && *t) ? strtoll(t, NULL, 10) : 0;
    } else {
        set_err(c, res);
        rc = classify(res);
    }
    PQclear(res);
    return rc;
}

static int pg_exec_script(void *h, const char *sql)
{
    pg_conn_t *c = h;
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType s = PQresultStatus(res);
    int rc = DB_OK;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        set_err(c, res);
        rc = classify(res);
    }
    PQclear(res);
    return rc;
}

static const char *pg_errmsg(void *h) { return ((pg_conn_t *)h)->err; }

static bool pg_healthy(void *h)
{
    pg_conn_t *c = h;
    return c && PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) == PQTRANS_IDLE;
}

const db_driver_t db_driver_postgres = {
    .name = "postgres",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .run = pg_run,
    .exec_script = pg_exec_script,
    .errmsg = pg_errmsg,
    .healthy = pg_healthy,
};
