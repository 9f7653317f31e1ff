/* sse.h — incremental parser for server-sent events (the WHATWG event-stream format) as
 * OpenAI-compatible servers send them: bytes arrive in arbitrary pieces (a line, a JSON
 * object or even a UTF-8 character may be split across network reads), so the parser
 * buffers at most one pending line and one pending event.
 *
 * Lines end with \n, \r\n or \r. "data:" lines append to the event's data (joined with \n),
 * "event:" sets its name, lines starting with ':' are comments (keep-alives), a blank line
 * dispatches the event. Other fields (id, retry) are ignored. */
#ifndef RODEO_LLM_SSE_H
#define RODEO_LLM_SSE_H
#include <stddef.h>
#include "core/buf.h"

#define SSE_MAX_EVENT (1u << 20)   /* 1 MiB per line/event: beyond that the peer is broken */

/* Called per dispatched event; return 0 to continue, non-zero to stop parsing (the value
 * is returned by sse_feed). event is "" when no event: field was given. */
typedef int (*sse_event_fn)(void *ud, const char *event, const char *data, size_t len);

typedef struct {
    buf_t line;        /* current incomplete line */
    buf_t data;        /* data of the pending event */
    buf_t event;       /* event name of the pending event */
    int   has_data;
    int   last_cr;     /* previous chunk ended in \r: a leading \n is part of that CRLF */
} sse_parser_t;

void sse_init(sse_parser_t *p);
void sse_free(sse_parser_t *p);
/* Feeds bytes. Returns 0, the callback's non-zero value, or -1 when a line or event
 * exceeds SSE_MAX_EVENT. */
int  sse_feed(sse_parser_t *p, const char *data, size_t len, sse_event_fn fn, void *ud);
#endif
