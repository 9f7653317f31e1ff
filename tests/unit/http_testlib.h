/* http_testlib.h — helpers for the HTTP layer tests: a libcurl client that records status,
 * headers and body, and a server started on port 0 with a test route table. */
#ifndef RODEO_HTTP_TESTLIB_H
#define RODEO_HTTP_TESTLIB_H
#include "core/buf.h"
#include "http/http.h"

typedef struct {
    long  status;
    buf_t body;
    buf_t headers;       /* raw header block, all responses (redirects not followed) */
    char  hv[512];       /* last value returned by hres_header */
    int   curl_rc;
} hres_t;

/* One request. headers: NULL-terminated list of "Name: value". body may be NULL. */
int  hreq(int port, const char *method, const char *path, const char *const *headers,
          const void *body, size_t len, hres_t *out);
/* Value of the (last) response header name, case-insensitive, or NULL. */
const char *hres_header(hres_t *r, const char *name);
void hres_free(hres_t *r);
/* A config for tests: loopback, port 0, 2 threads, caps 1 KiB body / 64 KiB upload. */
http_config_t htest_config(void);
/* Fake hook: "user-N" -> user N, "admin-N" -> admin N, anything else invalid. */
int htest_auth(const char *token, http_principal_t *p, void *ud);
#endif
