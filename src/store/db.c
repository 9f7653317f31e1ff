/* db.c — the engine-independent half of the SQL layer: the connection pool, transactions,
 * materialised result sets and the per-connection prepared-statement cache. Drivers
 * (sqlite.c, postgres.c) only open connections and run single statements. */
#include "store/db_driver.h"
#include "core/buf.h"
#include "core/log.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db_conn {
    db_pool_t *pool;
    void      *h;           /* driver handle */
    bool       in_tx;
    db_conn_t *next_idle;
};

struct db_pool {
    db_dialect_t        dialect;
    const db_driver_t  *drv;
    char               *target;
    int                 max_conns, total;
    db_conn_t          *idle;
    pthread_mutex_t     mu;
    pthread_cond_t      cv;
};

/* ------------------------------------------------------------------ pool */

static db_conn_t *conn_open(db_pool_t *p, char *err, size_t errlen)
{
    void *h = p->drv->connect(p->target, err, errlen);
    if (!h) return NULL;
    db_conn_t *c = xcalloc(1, sizeof *c);
    c->pool = p;
    c->h = h;
    return c;
}

db_pool_t *db_pool_open(db_dialect_t dialect, const char *target, int max_conns, char *err,
                        size_t errlen)
{
    const db_driver_t *drv = dialect == DB_SQLITE ? &db_driver_sqlite
                           : dialect == DB_POSTGRES ? &db_driver_postgres : NULL;
    if (!drv || !target) {
        snprintf(err, errlen, "unknown database dialect or empty target");
        return NULL;
    }
    db_pool_t *p = xcalloc(1, sizeof *p);
    p->dialect = dialect;
    p->drv = drv;
    p->target = xstrdup(target);
    p->max_conns = max_conns > 0 ? max_conns : 8;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    db_conn_t *c = conn_open(p, err, errlen);   /* fail fast on a bad target */
    if (!c) {
        db_pool_close(p);
        return NULL;
    }
    p->total = 1;
    p->idle = c;
    return p;
}

void db_pool_close(db_pool_t *p)
{
    if (!p) return;
    while (p->idle) {
        db_conn_t *c = p->idle;
        p->idle = c->next_idle;
        p->drv->disconnect(c->h);
        free(c);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->target);
    free(p);
}

db_dialect_t db_pool_dialect(const db_pool_t *p) { return p->dialect; }

db_conn_t *db_acquire(db_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->idle) {
            db_conn_t *c = p->idle;
            p->idle = c->next_idle;
            c->next_idle = NULL;
            pthread_mutex_unlock(&p->mu);
            return c;
        }
        if (p->total < p->max_conns) break;
        pthread_cond_wait(&p->cv, &p->mu);
    }
    p->total++;                       /* reserve the slot, connect outside the lock */
    pthread_mutex_unlock(&p->mu);
    char err[256] = "";
    db_conn_t *c = conn_open(p, err, sizeof err);
    if (!c) {
        log_error("db: cannot open %s connection: %s", p->drv->name, err);
        pthread_mutex_lock(&p->mu);
        p->total--;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return c;
}

void db_release(db_conn_t *c)
{
    if (!c) return;
    db_pool_t *p = c->pool;
    if (c->in_tx) db_rollback(c);
    bool keep = p->drv->healthy(c->h);
    if (!keep) {
        log_warn("db: discarding a %s connection (broken, or left inside a transaction)", p->drv->name);
        p->drv->disconnect(c->h);
        free(c);
    }
    pthread_mutex_lock(&p->mu);
    if (keep) {
        c->next_idle = p->idle;
        p->idle = c;
    } else {
        p->total--;
    }
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

db_dialect_t db_conn_dialect(const db_conn_t *c) { return c->pool->dialect; }
const char *db_errmsg(const db_conn_t *c) { return c->pool->drv->errmsg(c->h); }

/* ------------------------------------------------------------------ statements */

static int run(db_conn_t *c, const char *sql, const db_value_t *params, int n, db_result_t *out,
               int64_t *changes)
{
    int64_t dummy;
    int rc = c->pool->drv->run(c->h, sql, params, n, out, changes ? changes : &dummy);
    if (rc == DB_ERROR)
        log_error("db: %s: %s [%.120s]", c->pool->drv->name, db_errmsg(c), sql);
    return rc;
}

int db_query(db_conn_t *c, const char *sql, const db_value_t *params, int n, db_result_t **out)
{
    db_result_t *r = db_result_new();
    int rc = run(c, sql, params, n, r, NULL);
    if (rc != DB_OK) {
        db_result_free(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

int db_exec(db_conn_t *c, const char *sql, const db_value_t *params, int n, int64_t *changes)
{
    return run(c, sql, params, n, NULL, changes);
}

int db_query_int64(db_conn_t *c, const char *sql, const db_value_t *params, int n, int64_t *out)
{
    db_result_t *r;
    int rc = db_query(c, sql, params, n, &r);
    if (rc != DB_OK) return rc;
    if (db_rows(r) < 1) rc = DB_NOT_FOUND;
    else if (out) *out = db_get_int64(r, 0, 0);
    db_result_free(r);
    return rc;
}

int db_exec_script(db_conn_t *c, const char *sql)
{
    int rc = c->pool->drv->exec_script(c->h, sql);
    if (rc != DB_OK) log_error("db: %s: %s", c->pool->drv->name, db_errmsg(c));
    return rc;
}

int db_begin(db_conn_t *c)
{
    if (c->in_tx) return DB_ERROR;
    int rc = db_exec(c, c->pool->dialect == DB_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN", NULL, 0, NULL);
    if (rc == DB_OK) c->in_tx = true;
    return rc;
}

int db_begin_read(db_conn_t *c)
{
    if (c->in_tx) return DB_ERROR;
    int rc = db_exec(c, c->pool->dialect == DB_SQLITE ? "BEGIN"
                        : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, 0, NULL);
    if (rc == DB_OK) c->in_tx = true;
    return rc;
}

int db_commit(db_conn_t *c)
{
    if (!c->in_tx) return DB_ERROR;
    int rc = db_exec(c, "COMMIT", NULL, 0, NULL);
    if (rc != DB_OK) db_rollback(c);     /* a failed COMMIT leaves nothing applied */
    c->in_tx = false;
    return rc;
}

int db_rollback(db_conn_t *c)
{
    if (!c->in_tx) return DB_OK;
    c->in_tx = false;
    return db_exec(c, "ROLLBACK", NULL, 0, NULL);
}

bool db_in_transaction(const db_conn_t *c) { return c->in_tx; }

int db_pool_query(db_pool_t *p, const char *sql, const db_value_t *params, int n,
                  db_result_t **out)
{
    *out = NULL;
    db_conn_t *c = db_acquire(p);
    if (!c) return DB_ERROR;
    int rc = db_query(c, sql, params, n, out);
    db_release(c);
    return rc;
}

int db_pool_exec(db_pool_t *p, const char *sql, const db_value_t *params, int n,
                 int64_t *changes)
{
    db_conn_t *c = db_acquire(p);
    if (!c) return DB_ERROR;
    int rc = db_exec(c, sql, params, n, changes);
    db_release(c);
    return rc;
}

int db_pool_query_int64(db_pool_t *p, const char *sql, const db_value_t *params, int n,
                        int64_t *out)
{
    db_conn_t *c = db_acquire(p);
    if (!c) return DB_ERROR;
    int rc = db_query_int64(c, sql, params, n, out);
    db_release(c);
    return rc;
}

/* ------------------------------------------------------------------ results */

/* Cells live in one array (row-major); text, blob bytes and column names in one buffer,
 * addressed by offset because the buffer moves as it grows. Each value is NUL-terminated.
 * A cell is 16 bytes: values never exceed 1 GB in either engine, so a 32-bit length fits. */
typedef struct {
    union {
        int64_t i;
        double  d;
        size_t  off;
    } v;
    uint32_t  len;
    uint8_t   type;
} db_cell_t;

struct db_result {
    int        ncols, nrows;
    bool       has_cols;
    size_t    *name_off;
    size_t     name_cap;
    db_cell_t *cells;
    size_t     cell_cap;
    buf_t      bytes;
};

/* Each thread keeps one freed result for its next query: in steady state a query then
 * allocates nothing for its result set (malloc was a third of a 20-row list call). Large
 * results are not kept. The key's destructor frees the spare when the thread exits. */
#define SPARE_MAX_CELLS 4096
#define SPARE_MAX_BYTES (256 * 1024)
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void result_destroy(db_result_t *r)
{
    free(r->name_off);
    free(r->cells);
    buf_free(&r->bytes);
    free(r);
}

static void spare_destructor(void *p) { result_destroy(p); }
static void spare_init(void) { pthread_key_create(&spare_key, spare_destructor); }

db_result_t *db_result_new(void)
{
    pthread_once(&spare_once, spare_init);
    db_result_t *r = pthread_getspecific(spare_key);
    if (r) {
        pthread_setspecific(spare_key, NULL);
        r->ncols = r->nrows = 0;
        r->has_cols = false;
        buf_reset(&r->bytes);
        return r;
    }
    return xcalloc(1, sizeof(db_result_t));
}

void db_result_free(db_result_t *r)
{
    if (!r) return;
    pthread_once(&spare_once, spare_init);
    if (r->cell_cap <= SPARE_MAX_CELLS && r->bytes.cap <= SPARE_MAX_BYTES &&
        !pthread_getspecific(spare_key) && pthread_setspecific(spare_key, r) == 0)
        return;
    result_destroy(r);
}

void db_result_set_cols(db_result_t *r, int ncols)
{
    if (ncols < 0) ncols = 0;
    if ((size_t)ncols > r->name_cap) {
        r->name_off = xrealloc(r->name_off, (size_t)ncols * sizeof *r->name_off);
        r->name_cap = (size_t)ncols;
    }
    r->ncols = ncols;
    r->has_cols = true;
    for (int i = 0; i < ncols; i++) r->name_off[i] = (size_t)-1;
}

void db_result_set_colname(db_result_t *r, int col, const char *name)
{
    if (col < 0 || col >= r->ncols) return;
    if (!r->bytes.cap) buf_reserve(&r->bytes, 2048);
    r->name_off[col] = r->bytes.len;
    buf_puts(&r->bytes, name ? name : "");
    buf_putc(&r->bytes, '\0');
}

bool db_result_has_cols(const db_result_t *r) { return r->has_cols; }

void db_result_add_row(db_result_t *r)
{
    size_t need = (size_t)(r->nrows + 1) * (size_t)r->ncols;
    if (need > r->cell_cap) {
        size_t cap = r->cell_cap ? r->cell_cap * 2 : 128;   /* a typical page in one step */
        while (cap < need) cap *= 2;
        r->cells = xrealloc(r->cells, cap * sizeof *r->cells);
        r->cell_cap = cap;
    }
    memset(r->cells + (size_t)r->nrows * (size_t)r->ncols, 0, (size_t)r->ncols * sizeof *r->cells);
    r->nrows++;
}

static db_cell_t *cur_cell(db_result_t *r, int col)
{
    if (r->nrows == 0 || col < 0 || col >= r->ncols) return NULL;
    return &r->cells[(size_t)(r->nrows - 1) * (size_t)r->ncols + (size_t)col];
}

void db_result_put_int(db_result_t *r, int col, int64_t v)
{
    db_cell_t *c = cur_cell(r, col);
    if (c) { c->type = DB_T_INT; c->v.i = v; }
}

void db_result_put_double(db_result_t *r, int col, double v)
{
    db_cell_t *c = cur_cell(r, col);
    if (c) { c->type = DB_T_DOUBLE; c->v.d = v; }
}

static void put_bytes(db_result_t *r, int col, db_type_t t, const void *p, size_t len)
{
    db_cell_t *c = cur_cell(r, col);
    if (!c || len > UINT32_MAX) return;            /* cannot happen: engines cap values at 1 GB */
    if (!r->bytes.cap) buf_reserve(&r->bytes, 2048 > len ? 2048 : len + 1);
    c->type = (uint8_t)t;
    c->v.off = r->bytes.len;
    c->len = (uint32_t)len;
    buf_append(&r->bytes, p ? p : "", len);
    buf_putc(&r->bytes, '\0');
}

void db_result_put_text(db_result_t *r, int col, const char *s, size_t len)
{ put_bytes(r, col, DB_T_TEXT, s, len); }

void db_result_put_blob(db_result_t *r, int col, const void *p, size_t len)
{ put_bytes(r, col, DB_T_BLOB, p, len); }

int db_rows(const db_result_t *r) { return r ? r->nrows : 0; }
int db_cols(const db_result_t *r) { return r ? r->ncols : 0; }

const char *db_colname(const db_result_t *r, int col)
{
    return (r && col >= 0 && col < r->ncols && r->name_off[col] != (size_t)-1)
               ? r->bytes.data + r->name_off[col] : "";
}

static const db_cell_t *cell(const db_result_t *r, int row, int col)
{
    if (!r || row < 0 || row >= r->nrows || col < 0 || col >= r->ncols) return NULL;
    return &r->cells[(size_t)row * (size_t)r->ncols + (size_t)col];
}

db_type_t db_type(const db_result_t *r, int row, int col)
{
    const db_cell_t *c = cell(r, row, col);
    return c ? (db_type_t)c->type : DB_T_NULL;
}

bool db_isnull(const db_result_t *r, int row, int col) { return db_type(r, row, col) == DB_T_NULL; }

int64_t db_get_int64(const db_result_t *r, int row, int col)
{
    const db_cell_t *c = cell(r, row, col);
    if (!c) return 0;
    switch (c->type) {
    case DB_T_INT: return c->v.i;
    case DB_T_DOUBLE: return (int64_t)c->v.d;
    case DB_T_TEXT: return strtoll(r->bytes.data + c->v.off, NULL, 10);
    default: return 0;
    }
}

double db_get_double(const db_result_t *r, int row, int col)
{
    const db_cell_t *c = cell(r, row, col);
    if (!c) return 0;
    switch (c->type) {
    case DB_T_INT: return (double)c->v.i;
    case DB_T_DOUBLE: return c->v.d;
    case DB_T_TEXT: return strtod(r->bytes.data + c->v.off, NULL);
    default: return 0;
    }
}

bool db_get_bool(const db_result_t *r, int row, int col)
{
    const db_cell_t *c = cell(r, row, col);
    if (c && c->type == DB_T_TEXT) {      /* PostgreSQL boolean text when typed as text */
        const char *s = r->bytes.data + c->v.off;
        return s[0] == 't' || s[0] == 'T' || (s[0] >= '1' && s[0] <= '9');
    }
    return db_get_int64(r, row, col) != 0;
}

const char *db_get_text(const db_result_t *r, int row, int col)
{
    const db_cell_t *c = cell(r, row, col);
    return (c && c->type == DB_T_TEXT) ? r->bytes.data + c->v.off : NULL;
}

const void *db_get_blob(const db_result_t *r, int row, int col, size_t *len)
{
    const db_cell_t *c = cell(r, row, col);
    if (!c || (c->type != DB_T_BLOB && c->type != DB_T_TEXT)) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = c->len;
    return r->bytes.data + c->v.off;
}

char *db_dup_text(const db_result_t *r, int row, int col)
{
    const char *s = db_get_text(r, row, col);
    return s ? xstrdup(s) : NULL;
}


/* ------------------------------------------------------------------ statement cache */

struct db_stmt_slot {
    uint64_t hash;
    char    *sql;
    void    *stmt;
};

uint64_t db_sql_hash(const char *sql)
{
    uint64_t h = 1469598103934665603ULL;            /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

void *db_stmt_cache_get(db_stmt_cache_t *c, const char *sql)
{
    if (!c->cap) return NULL;
    uint64_t h = db_sql_hash(sql);
    for (size_t i = h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        struct db_stmt_slot *s = &c->slots[i];
        if (!s->sql) return NULL;
        if (s->hash == h && !strcmp(s->sql, sql)) return s->stmt;
    }
}

static void slot_insert(struct db_stmt_slot *slots, size_t cap, struct db_stmt_slot v)
{
    for (size_t i = v.hash & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!slots[i].sql) { slots[i] = v; return; }
}

void db_stmt_cache_put(db_stmt_cache_t *c, const char *sql, void *stmt)
{
    if ((c->count + 1) * 2 > c->cap) {              /* keep load <= 1/2 */
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct db_stmt_slot *slots = xcalloc(cap, sizeof *slots);
        for (size_t i = 0; i < c->cap; i++)
            if (c->slots[i].sql) slot_insert(slots, cap, c->slots[i]);
        free(c->slots);
        c->slots = slots;
        c->cap = cap;
    }
    slot_insert(c->slots, c->cap, (struct db_stmt_slot){db_sql_hash(sql), xstrdup(sql), stmt});
    c->count++;
}

void db_stmt_cache_clear(db_stmt_cache_t *c)
{
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].sql) {
            if (c->free_fn) c->free_fn(c->slots[i].stmt);
            free(c->slots[i].sql);
        }
    free(c->slots);
    c->slots = NULL;
    c->cap = c->count = 0;
}

/* ------------------------------------------------------------------ SQL text helpers */

char *db_like_contains(const char *s)
{
    buf_t b = {0};
    buf_putc(&b, '%');
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '%' || *s == '_') buf_putc(&b, '\\');
        buf_putc(&b, *s);
    }
    buf_putc(&b, '%');
    return buf_steal(&b);
}
