/* router.c — the route table: "/api/conversations/{id}" patterns split into segments once
 * at start-up; a request is matched against every route with the same number of segments.
 * Precedence is by literal segments, earliest first, so "/api/conversations/search" beats
 * "/api/conversations/{id}" whatever order the table lists them in. A linear scan over a
 * few dozen routes costs less than any index would at this size.
 * A last segment "{name...}" matches one or more remaining segments ("/static/{path...}"),
 * ranking below any route with the same literals. */
#include "http/internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const char *p; size_t n; } seg_t;

/* Splits path (starting with '/') into segments; returns count or -1 if too many. */
static int split_path(const char *path, seg_t *segs, int max)
{
    int n = 0;
    if (*path == '/') path++;
    if (!*path) return 0;
    for (;;) {
        const char *e = strchr(path, '/');
        size_t len = e ? (size_t)(e - path) : strlen(path);
        if (n == max) return -1;
        segs[n].p = path;
        segs[n].n = len;
        n++;
        if (!e) break;
        path = e + 1;
    }
    return n;
}

static bool seg_is_param(const char *s) { return s[0] == '{'; }

int router_build(router_t *r, const http_route_t *routes, size_t n, char *err, size_t errlen)
{
    r->entries = xcalloc(n ? n : 1, sizeof *r->entries);
    r->n = 0;
    for (size_t i = 0; i < n; i++) {
        const http_route_t *rt = &routes[i];
        router_entry_t *e = &r->entries[r->n];
        if (!rt->method || !rt->pattern || rt->pattern[0] != '/' || !rt->handler) {
            snprintf(err, errlen, "route %zu: method, pattern starting with '/' and handler required", i);
            router_free(r);
            return -1;
        }
        seg_t segs[HTTP_MAX_SEGS];
        int ns = split_path(rt->pattern, segs, HTTP_MAX_SEGS);
        if (ns < 0) {
            snprintf(err, errlen, "route %s: too many segments", rt->pattern);
            router_free(r);
            return -1;
        }
        e->route = rt;
        e->nsegs = ns;
        e->segs = xcalloc((size_t)ns + 1, sizeof(char *));
        r->n++;
        for (int s = 0; s < ns; s++) {
            char *seg = xstrndup(segs[s].p, segs[s].n);
            e->segs[s] = seg;
            size_t L = segs[s].n;
            if (L == 0 || (seg[0] == '{' && (L < 3 || seg[L - 1] != '}'))) {
                snprintf(err, errlen, "route %s: malformed segment", rt->pattern);
                router_free(r);
                return -1;
            }
            if (seg_is_param(seg)) {
                if (L > 5 && !strcmp(seg + L - 4, "...}")) {
                    if (s != ns - 1) {
                        snprintf(err, errlen, "route %s: {name...} must be the last segment", rt->pattern);
                        router_free(r);
                        return -1;
                    }
                    e->rest = true;
                    seg[L - 4] = '}';   /* stored as "{name}" */
                    seg[L - 3] = 0;
                }
                if (++e->nparams > HTTP_MAX_PARAMS) {
                    snprintf(err, errlen, "route %s: too many parameters", rt->pattern);
                    router_free(r);
                    return -1;
                }
            } else {
                e->literals++;
            }
        }
    }
    return 0;
}

void router_free(router_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        for (int s = 0; s < r->entries[i].nsegs; s++) free(r->entries[i].segs[s]);
        free(r->entries[i].segs);
    }
    free(r->entries);
    r->entries = NULL;
    r->n = 0;
}

/* Score of a route matching the path: bit (31 - i) set for each literal segment i, so a
 * literal earlier in the path outranks any number of later ones. -1 = no match. */
static long entry_score(const router_entry_t *e, const seg_t *segs, int ns)
{
    if (e->rest ? ns < e->nsegs : e->nsegs != ns) return -1;
    long score = 0;
    for (int i = 0; i < e->nsegs; i++) {
        const char *ps = e->segs[i];
        if (seg_is_param(ps)) {
            if (segs[i].n == 0) return -1;
        } else {
            if (strlen(ps) != segs[i].n || memcmp(ps, segs[i].p, segs[i].n)) return -1;
            score |= 1L << (31 - i);
        }
    }
    if (e->rest)   /* the rest may not contain empty segments ("a//b", trailing '/') */
        for (int i = e->nsegs; i < ns; i++)
            if (segs[i].n == 0) return -1;
    /* low bit: an exact-length route beats a catch-all with the same literals */
    return score * 2 + (e->rest ? 0 : 1);
}

static bool method_matches(const char *route_m, const char *m)
{
    return !strcmp(route_m, m) || (!strcmp(m, "HEAD") && !strcmp(route_m, "GET"));
}

static void allow_add(buf_t *allow, const char *m)
{
    if (!allow) return;
    /* no duplicates: "GET" must not match inside "GETX" */
    size_t ml = strlen(m);
    for (const char *p = allow->data; p && *p;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n == ml && !memcmp(p, m, n)) return;
        p = c ? c + 2 : p + n;
    }
    if (allow->len) buf_puts(allow, ", ");
    buf_puts(allow, m);
}

enum router_result router_match(const router_t *r, const char *method, const char *path,
                                http_req_t *req, const router_entry_t **out, buf_t *allow)
{
    seg_t segs[HTTP_MAX_SEGS];
    int ns = split_path(path, segs, HTTP_MAX_SEGS);
    if (ns < 0) return ROUTER_NOT_FOUND;
    const router_entry_t *best = NULL;
    long best_score = -1;
    bool path_found = false;
    for (size_t i = 0; i < r->n; i++) {
        const router_entry_t *e = &r->entries[i];
        long sc = entry_score(e, segs, ns);
        if (sc < 0) continue;
        path_found = true;
        if (!method_matches(e->route->method, method)) continue;
        /* an exact method beats HEAD->GET; then the higher score; then table order */
        if (sc > best_score || (sc == best_score && best && strcmp(best->route->method, method)
                                && !strcmp(e->route->method, method))) {
            best = e;
            best_score = sc;
        }
    }
    if (best) {
        *out = best;
        req->nparams = 0;
        for (int i = 0; i < best->nsegs; i++) {
            const char *ps = best->segs[i];
            if (!seg_is_param(ps)) continue;
            /* names are stored with braces; the arena copy strips them */
            req->pnames[req->nparams] = arena_strndup(&req->arena, ps + 1, strlen(ps) - 2);
            size_t n = segs[i].n;
            if (best->rest && i == best->nsegs - 1)   /* up to the end of the path */
                n = strlen(segs[i].p);
            req->pvalues[req->nparams] = arena_strndup(&req->arena, segs[i].p, n);
            req->nparams++;
        }
        return ROUTER_FOUND;
    }
    if (!path_found) return ROUTER_NOT_FOUND;
    for (size_t i = 0; i < r->n; i++) {
        const router_entry_t *e = &r->entries[i];
        if (entry_score(e, segs, ns) < 0) continue;
        allow_add(allow, e->route->method);
        if (!strcmp(e->route->method, "GET")) allow_add(allow, "HEAD");
    }
    allow_add(allow, "OPTIONS");
    return ROUTER_BAD_METHOD;
}

bool router_path_exists(const router_t *r, const char *path, buf_t *methods)
{
    seg_t segs[HTTP_MAX_SEGS];
    int ns = split_path(path, segs, HTTP_MAX_SEGS);
    if (ns < 0) return false;
    bool found = false;
    for (size_t i = 0; i < r->n; i++) {
        const router_entry_t *e = &r->entries[i];
        if (entry_score(e, segs, ns) < 0) continue;
        found = true;
        allow_add(methods, e->route->method);
        if (!strcmp(e->route->method, "GET")) allow_add(methods, "HEAD");
    }
    if (found) allow_add(methods, "OPTIONS");
    return found;
}
