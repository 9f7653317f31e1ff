/* vcatalog.c — a directory of named collections (see vcatalog.h). A small sorted array is
 * enough: a deployment has a handful of collections (products, knowledge, photos). */
#include "index/vcatalog.h"
#include "index/vindex_impl.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct { char *name; vindex_t *v; } ventry_t;

struct vcatalog {
    char *dir;
    pthread_rwlock_t lock;
    ventry_t *e;
    size_t n, cap;
};

int vcatalog_valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

static char *file_of(const vcatalog_t *c, const char *name, const char *ext)
{
    size_t n = strlen(c->dir) + strlen(name) + strlen(ext) + 3;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s%s", c->dir, name, ext);
    return p;
}

static long find(const vcatalog_t *c, const char *name)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int r = strcmp(c->e[mid].name, name);
        if (!r) return (long)mid;
        if (r < 0) lo = mid + 1; else hi = mid;
    }
    return -(long)lo - 1;
}

static int insert_at(vcatalog_t *c, size_t pos, const char *name, vindex_t *v)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        ventry_t *e = realloc(c->e, cap * sizeof *e);
        if (!e) return -1;
        c->e = e;
        c->cap = cap;
    }
    char *nm = strdup(name);
    if (!nm) return -1;
    memmove(c->e + pos + 1, c->e + pos, (c->n - pos) * sizeof *c->e);
    c->e[pos] = (ventry_t){nm, v};
    c->n++;
    return 0;
}

static int attach_log(vcatalog_t *c, const char *name, vindex_t *v, char *err, size_t errlen)
{
    char *lp = file_of(c, name, ".log");
    if (!lp) { vindex_set_err(err, errlen, "out of memory"); return -1; }
    int rc = vindex_log_attach(v, lp, 0, err, errlen);
    free(lp);
    return rc;
}

vcatalog_t *vcatalog_open(const char *dir, vcatalog_damaged_fn damaged, void *ctx,
                          char *err, size_t errlen)
{
    if (!dir) { vindex_set_err(err, errlen, "null directory"); return NULL; }
    if (mkdir(dir, 0755) && errno != EEXIST) {
        vindex_set_err(err, errlen, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    DIR *d = opendir(dir);
    if (!d) { vindex_set_err(err, errlen, "%s: %s", dir, strerror(errno)); return NULL; }
    vcatalog_t *c = calloc(1, sizeof *c);
    if (!c || !(c->dir = strdup(dir))) { free(c); closedir(d); vindex_set_err(err, errlen, "out of memory"); return NULL; }
    pthread_rwlock_init(&c->lock, NULL);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".rvx")) continue;
        char name[80];
        if (len - 4 >= sizeof name) continue;
        memcpy(name, de->d_name, len - 4);
        name[len - 4] = 0;
        if (!vcatalog_valid_name(name)) continue;
        char why[512];
        char *sp = file_of(c, name, ".rvx"), *lp = file_of(c, name, ".log");
        vindex_t *v = sp ? vindex_load(sp, why, sizeof why) : NULL;
        if (v && lp && access(lp, F_OK) == 0 && vindex_log_replay(v, lp, NULL, why, sizeof why)) {
            vindex_free(v);
            v = NULL;
        }
        if (v && attach_log(c, name, v, why, sizeof why)) { vindex_free(v); v = NULL; }
        long pos = find(c, name);
        if (v && (pos >= 0 || insert_at(c, (size_t)(-pos - 1), name, v))) { vindex_free(v); v = NULL; }
        if (!v && damaged) damaged(ctx, name, why);
        free(sp);
        free(lp);
    }
    closedir(d);
    return c;
}

void vcatalog_close(vcatalog_t *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) { vindex_free(c->e[i].v); free(c->e[i].name); }
    free(c->e);
    free(c->dir);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

vindex_t *vcatalog_create(vcatalog_t *c, const char *name, const vindex_params_t *p,
                          char *err, size_t errlen)
{
    if (!c || !vcatalog_valid_name(name)) { vindex_set_err(err, errlen, "bad collection name"); return NULL; }
    vindex_t *v = vindex_create(p, err, errlen);
    if (!v) return NULL;
    pthread_rwlock_wrlock(&c->lock);
    long pos = find(c, name);
    if (pos >= 0) {
        pthread_rwlock_unlock(&c->lock);
        vindex_free(v);
        vindex_set_err(err, errlen, "collection %s exists", name);
        return NULL;
    }
    char *sp = file_of(c, name, ".rvx"), *lp = file_of(c, name, ".log");
    int rc = (!sp || !lp) ? -1 : 0;
    if (!rc && lp) unlink(lp);   /* a stale log of a dropped namesake must not replay */
    if (!rc) rc = vindex_save(v, sp, err, errlen);
    if (!rc) rc = attach_log(c, name, v, err, errlen);
    if (!rc) rc = insert_at(c, (size_t)(-pos - 1), name, v);
    pthread_rwlock_unlock(&c->lock);
    free(sp);
    free(lp);
    if (rc) { vindex_free(v); return NULL; }
    return v;
}

int vcatalog_put(vcatalog_t *c, const char *name, vindex_t *v, char *err, size_t errlen)
{
    if (!c || !v || !vcatalog_valid_name(name)) { vindex_set_err(err, errlen, "bad collection name"); return -1; }
    char *sp = file_of(c, name, ".rvx"), *lp = file_of(c, name, ".log");
    pthread_rwlock_wrlock(&c->lock);
    int rc = (!sp || !lp) ? -1 : 0;
    if (!rc) rc = vindex_save(v, sp, err, errlen);
    if (!rc) { unlink(lp); rc = attach_log(c, name, v, err, errlen); }
    if (!rc) {
        long pos = find(c, name);
        if (pos >= 0) { vindex_free(c->e[pos].v); c->e[pos].v = v; }
        else rc = insert_at(c, (size_t)(-pos - 1), name, v);
    }
    pthread_rwlock_unlock(&c->lock);
    free(sp);
    free(lp);
    return rc;
}

vindex_t *vcatalog_get(vcatalog_t *c, const char *name)
{
    if (!c || !name) return NULL;
    pthread_rwlock_rdlock(&c->lock);
    long pos = find(c, name);
    vindex_t *v = pos >= 0 ? c->e[pos].v : NULL;
    pthread_rwlock_unlock(&c->lock);
    return v;
}

int vcatalog_drop(vcatalog_t *c, const char *name)
{
    if (!c || !name) return 1;
    pthread_rwlock_wrlock(&c->lock);
    long pos = find(c, name);
    if (pos < 0) { pthread_rwlock_unlock(&c->lock); return 1; }
    vindex_free(c->e[pos].v);
    free(c->e[pos].name);
    memmove(c->e + pos, c->e + pos + 1, (c->n - (size_t)pos - 1) * sizeof *c->e);
    c->n--;
    char *sp = file_of(c, name, ".rvx"), *lp = file_of(c, name, ".log");
    if (sp) unlink(sp);
    if (lp) unlink(lp);
    free(sp);
    free(lp);
    pthread_rwlock_unlock(&c->lock);
    return 0;
}

int vcatalog_save_all(vcatalog_t *c, char *err, size_t errlen)
{
    int rc = 0;
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < c->n && !rc; i++) {
        char *sp = file_of(c, c->e[i].name, ".rvx");
        rc = sp ? vindex_save(c->e[i].v, sp, err, errlen) : -1;
        free(sp);
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

size_t vcatalog_list(vcatalog_t *c, const char **names, size_t max)
{
    pthread_rwlock_rdlock(&c->lock);
    size_t n = c->n;
    for (size_t i = 0; i < n && i < max; i++) names[i] = c->e[i].name;
    pthread_rwlock_unlock(&c->lock);
    return n;
}
