/* buf.h — growable byte buffer, the one string builder used everywhere.
 * A zeroed buf_t is an empty buffer. data is always NUL-terminated when non-NULL, so
 * buf.data can be used as a C string. Allocation failure aborts the process (the only
 * place we do so: running out of memory is not bad input). */
#ifndef RODEO_CORE_BUF_H
#define RODEO_CORE_BUF_H
#include <stddef.h>
#include <stdarg.h>

typedef struct {
    char  *data;
    size_t len;
    size_t cap;
} buf_t;

void  buf_reserve(buf_t *b, size_t extra);
void  buf_append(buf_t *b, const void *data, size_t len);
void  buf_puts(buf_t *b, const char *s);
void  buf_putc(buf_t *b, char c);
void  buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void  buf_vprintf(buf_t *b, const char *fmt, va_list ap);
void  buf_reset(buf_t *b);                 /* len = 0, keeps memory */
char *buf_steal(buf_t *b);                 /* returns data (malloc'd, never NULL), buffer emptied */
void  buf_free(buf_t *b);

/* xmalloc family: abort with a message on out-of-memory. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
#endif
