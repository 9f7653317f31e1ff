/* sse.c — incremental server-sent events parser (see sse.h). */
#include "llm/sse.h"
#include <string.h>

void sse_init(sse_parser_t *p) { memset(p, 0, sizeof *p); }

void sse_free(sse_parser_t *p)
{
    buf_free(&p->line);
    buf_free(&p->data);
    buf_free(&p->event);
}

static int dispatch(sse_parser_t *p, sse_event_fn fn, void *ud)
{
    int rc = 0;
    if (p->has_data)
        rc = fn(ud, p->event.data ? p->event.data : "", p->data.data ? p->data.data : "", p->data.len);
    buf_reset(&p->data);
    buf_reset(&p->event);
    if (p->event.data) p->event.data[0] = 0;
    p->has_data = 0;
    return rc;
}

static int process_line(sse_parser_t *p, const char *s, size_t n, sse_event_fn fn, void *ud)
{
    if (n == 0) return dispatch(p, fn, ud);
    if (s[0] == ':') return 0;
    const char *colon = memchr(s, ':', n);
    size_t fl = colon ? (size_t)(colon - s) : n;
    const char *v = colon ? colon + 1 : s + n;
    size_t vl = colon ? n - fl - 1 : 0;
    if (vl && v[0] == ' ') { v++; vl--; }
    if (fl == 4 && !memcmp(s, "data", 4)) {
        if (p->has_data) buf_putc(&p->data, '\n');
        if (p->data.len + vl > SSE_MAX_EVENT) return -1;
        buf_append(&p->data, v, vl);
        if (!p->data.data) buf_append(&p->data, "", 0);
        p->has_data = 1;
    } else if (fl == 5 && !memcmp(s, "event", 5)) {
        buf_reset(&p->event);
        buf_append(&p->event, v, vl);
    }
    return 0;
}

int sse_feed(sse_parser_t *p, const char *data, size_t len, sse_event_fn fn, void *ud)
{
    size_t i = 0;
    if (p->last_cr && len && data[0] == '\n') i = 1;
    p->last_cr = 0;
    while (i < len) {
        const char *nl = NULL;
        for (size_t j = i; j < len; j++)
            if (data[j] == '\n' || data[j] == '\r') { nl = data + j; break; }
        if (!nl) {
            if (p->line.len + (len - i) > SSE_MAX_EVENT) return -1;
            buf_append(&p->line, data + i, len - i);
            return 0;
        }
        size_t seg = (size_t)(nl - (data + i));
        int rc;
        if (p->line.len) {
            if (p->line.len + seg > SSE_MAX_EVENT) return -1;
            buf_append(&p->line, data + i, seg);
            rc = process_line(p, p->line.data, p->line.len, fn, ud);
            buf_reset(&p->line);
        } else rc = process_line(p, data + i, seg, fn, ud);
        i += seg + 1;
        if (*nl == '\r') {
            if (i < len && data[i] == '\n') i++;
            else if (i == len) p->last_cr = 1;
        }
        if (rc) return rc;
    }
    return 0;
}
