/* sqlite.c — the SQLite driver behind db.h. One sqlite3 handle per pooled connection
 * (opened NOMUTEX: the pool guarantees one thread at a time), WAL so readers never block
 * the writer, foreign keys on, synchronous=NORMAL (durable across process crashes, the
 * last transactions may roll back on power loss), and a busy timeout so concurrent writers
 * wait instead of failing. Statements are prepared once per connection and cached by SQL
 * text; $N parameters are bound by name. */
#include "store/db_driver.h"
#include "core/buf.h"
#include <pthread.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQLITE_BUSY_TIMEOUT_MS 10000
#define MAX_PARAMS 64

/* One writer at a time per database file inside this process. SQLite allows a single
 * writer; without this gate, concurrent writers meet SQLITE_BUSY and the busy handler sleeps
 * in 1-25 ms steps, which is what the write latency tail was made of. A mutex hands the write
 * lock over as soon as it is free. Other processes sharing the file still meet the busy
 * handler. A connection takes the gate at its first write (or BEGIN IMMEDIATE) and gives it
 * back once it is in autocommit mode again (statement done, COMMIT or ROLLBACK). */
#define MAX_GATES 32
typedef struct {
    char           *path;
    int             refs;
    pthread_mutex_t mu;
} write_gate_t;
static write_gate_t gates[MAX_GATES];
static pthread_mutex_t gates_mu = PTHREAD_MUTEX_INITIALIZER;

static write_gate_t *gate_acquire(const char *path)
{
    write_gate_t *g = NULL, *free_slot = NULL;
    pthread_mutex_lock(&gates_mu);
    for (int i = 0; i < MAX_GATES && !g; i++) {
        if (gates[i].refs && !strcmp(gates[i].path, path)) g = &gates[i];
        else if (!gates[i].refs && !free_slot) free_slot = &gates[i];
    }
    if (!g && free_slot) {
        g = free_slot;
        free(g->path);
        g->path = xstrdup(path);
        pthread_mutex_init(&g->mu, NULL);
    }
    if (g) g->refs++;
    pthread_mutex_unlock(&gates_mu);
    return g;   /* NULL only past MAX_GATES open files: then the busy handler alone serialises */
}

static void gate_release(write_gate_t *g)
{
    if (!g) return;
    pthread_mutex_lock(&gates_mu);
    if (--g->refs == 0) {
        pthread_mutex_destroy(&g->mu);
        free(g->path);
        g->path = NULL;
    }
    pthread_mutex_unlock(&gates_mu);
}

typedef struct {
    sqlite3        *db;
    db_stmt_cache_t cache;
    write_gate_t   *gate;
    bool            holds_gate;
    char            err[512];
} sq_conn_t;

static void stmt_free(void *s) { sqlite3_finalize(s); }

static void set_err(sq_conn_t *c, const char *what)
{
    snprintf(c->err, sizeof c->err, "%s%s%s", what ? what : "", what ? ": " : "",
             sqlite3_errmsg(c->db));
}

/* SQLite counts memory under one global mutex on every allocation unless told not to, which
 * serialises threads that otherwise share nothing. Must run before SQLite initialises; if the
 * process already initialised it, the call fails harmlessly. */
static pthread_once_t sq_once = PTHREAD_ONCE_INIT;
static void sq_configure(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

static void *sq_connect(const char *target, char *err, size_t errlen)
{
    pthread_once(&sq_once, sq_configure);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(target, &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "sqlite open %s: %s", target, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, SQLITE_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(db, 1);
    /* Switching a fresh file to WAL needs an exclusive lock and SQLite does not always run the
     * busy handler for it, so processes opening a new database together retry here. */
    char *msg = NULL;
    for (int waited_ms = 0;; waited_ms += 5) {
        sqlite3_free(msg);
        msg = NULL;
        rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                              "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;", NULL, NULL, &msg);
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) break;
        if (waited_ms >= SQLITE_BUSY_TIMEOUT_MS) break;
        sqlite3_sleep(5);
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "sqlite setup %s: %s", target, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        sqlite3_close(db);
        return NULL;
    }
    sq_conn_t *c = xcalloc(1, sizeof *c);
    c->db = db;
    c->cache.free_fn = stmt_free;
    c->gate = gate_acquire(target);
    return c;
}

static void sq_disconnect(void *h)
{
    sq_conn_t *c = h;
    if (!c) return;
    db_stmt_cache_clear(&c->cache);
    sqlite3_close(c->db);                 /* rolls back an open transaction */
    if (c->holds_gate) pthread_mutex_unlock(&c->gate->mu);
    gate_release(c->gate);
    free(c);
}

static int classify(int rc)
{
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) return DB_CONFLICT;
    return DB_ERROR;
}

static int bind_params(sq_conn_t *c, sqlite3_stmt *st, const db_value_t *params, int n)
{
    if (n > MAX_PARAMS) {
        snprintf(c->err, sizeof c->err, "too many parameters (%d > %d)", n, MAX_PARAMS);
        return DB_ERROR;
    }
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "$%d", i + 1);
        int idx = sqlite3_bind_parameter_index(st, name);
        if (idx == 0) continue;             /* parameter not used by this statement */
        const db_value_t *v = &params[i];
        int rc;
        switch (v->type) {
        case DB_T_INT: rc = sqlite3_bind_int64(st, idx, v->i); break;
        case DB_T_DOUBLE: rc = sqlite3_bind_double(st, idx, v->d); break;
        case DB_T_TEXT:
            rc = sqlite3_bind_text64(st, idx, v->p, v->len == (size_t)-1 ? strlen(v->p) : v->len,
                                     SQLITE_STATIC, SQLITE_UTF8);
            break;
        case DB_T_BLOB: rc = sqlite3_bind_blob64(st, idx, v->p, v->len, SQLITE_STATIC); break;
        default: rc = sqlite3_bind_null(st, idx); break;
        }
        if (rc != SQLITE_OK) {
            set_err(c, "bind");
            return DB_ERROR;
        }
    }
    return DB_OK;
}

static void append_row(sqlite3_stmt *st, db_result_t *out)
{
    int nc = sqlite3_column_count(st);
    if (!db_result_has_cols(out)) {
        db_result_set_cols(out, nc);
        for (int i = 0; i < nc; i++) db_result_set_colname(out, i, sqlite3_column_name(st, i));
    }
    db_result_add_row(out);
    for (int i = 0; i < nc; i++) {
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER: db_result_put_int(out, i, sqlite3_column_int64(st, i)); break;
        case SQLITE_FLOAT: db_result_put_double(out, i, sqlite3_column_double(st, i)); break;
        case SQLITE_TEXT: {
            const unsigned char *t = sqlite3_column_text(st, i);
            db_result_put_text(out, i, (const char *)t, (size_t)sqlite3_column_bytes(st, i));
            break;
        }
        case SQLITE_BLOB: {
            const void *p = sqlite3_column_blob(st, i);
            db_result_put_blob(out, i, p, (size_t)sqlite3_column_bytes(st, i));
            break;
        }
        default: break;                      /* NULL: the row starts as NULLs */
        }
    }
}

static int sq_run(void *h, const char *sql, const db_value_t *params, int n, db_result_t *out,
                  int64_t *changes)
{
    sq_conn_t *c = h;
    c->err[0] = 0;
    sqlite3_stmt *st = db_stmt_cache_get(&c->cache, sql);
    if (!st) {
        int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK || !st) {
            set_err(c, "prepare");
            return DB_ERROR;
        }
        if (c->cache.count >= DB_STMT_CACHE_MAX) db_stmt_cache_clear(&c->cache);
        db_stmt_cache_put(&c->cache, sql, st);
    }
    if (c->gate && !c->holds_gate &&
        (!sqlite3_stmt_readonly(st) || !strncmp(sql, "BEGIN IMMEDIATE", 15))) {
        pthread_mutex_lock(&c->gate->mu);
        c->holds_gate = true;
    }
    int res = bind_params(c, st, params, n);
    if (res == DB_OK) {
        /* Columns are named even when no row comes back (an empty result still has a shape). */
        if (out && !db_result_has_cols(out)) {
            int nc = sqlite3_column_count(st);
            db_result_set_cols(out, nc);
            for (int i = 0; i < nc; i++) db_result_set_colname(out, i, sqlite3_column_name(st, i));
        }
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            if (out) append_row(st, out);
        if (rc == SQLITE_DONE) {
            *changes = sqlite3_changes64(c->db);
        } else {
            set_err(c, NULL);
            res = classify(sqlite3_extended_errcode(c->db));
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (c->holds_gate && sqlite3_get_autocommit(c->db)) {
        c->holds_gate = false;
        pthread_mutex_unlock(&c->gate->mu);
    }
    return res;
}

static int sq_exec_script(void *h, const char *sql)
{
    sq_conn_t *c = h;
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        snprintf(c->err, sizeof c->err, "%s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return classify(sqlite3_extended_errcode(c->db));
    }
    return DB_OK;
}

static const char *sq_errmsg(void *h) { return ((sq_conn_t *)h)->err; }
/* A handle left inside a transaction (BEGIN run by hand, then released) must not go back to
 * the pool holding the write lock: it is discarded, and closing it rolls back. */
static bool sq_healthy(void *h) { return h && sqlite3_get_autocommit(((sq_conn_t *)h)->db); }

const db_driver_t db_driver_sqlite = {
    .name = "sqlite",
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .run = sq_run,
    .exec_script = sq_exec_script,
    .errmsg = sq_errmsg,
    .healthy = sq_healthy,
};
