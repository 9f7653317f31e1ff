/* csv.c — see csv.h. A small state machine over getc(): fields accumulate in one buffer
 * per record (offsets kept per field) so a record costs no allocation after warm-up. */
#include "catalog/csv.h"
#include "core/buf.h"
#include "core/str.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct csv_reader {
    FILE  *f;
    long   line;                 /* current physical line (1-based) */
    long   record_line;
    buf_t  data;                 /* current record's fields, NUL-separated */
    size_t off[CSV_MAX_FIELDS];
    int    nfields;
    char  *names[CSV_MAX_FIELDS];
    int    ncols;
    int    eof;
};

/* Skips to the end of the current physical line (after an error). */
static void skip_line(csv_reader_t *r)
{
    int c;
    while ((c = getc(r->f)) != EOF && c != '\n') {}
    if (c == '\n') r->line++;
    else r->eof = 1;
}

/* Reads one record into data/off. Returns 1, 0 at EOF (no record), -1 on error. */
static int read_record(csv_reader_t *r, char *err, size_t errlen)
{
    buf_reset(&r->data);
    r->nfields = 0;
    r->record_line = r->line;
    if (r->eof) return 0;
    int c = getc(r->f);
    if (c == EOF) { r->eof = 1; return 0; }
    size_t field_start = 0;
    int quoted = 0, after_quote = 0, at_start = 1;
    for (;; c = getc(r->f)) {
        if (c == EOF) {
            if (quoted) {
                snprintf(err, errlen, "line %ld: unterminated quoted field", r->record_line);
                r->eof = 1;
                return -1;
            }
            r->eof = 1;
            c = '\n';   /* a last line without newline ends the record */
        }
        if (quoted) {
            if (c == '"') {
                int d = getc(r->f);
                if (d == '"') { buf_putc(&r->data, '"'); continue; }
                quoted = 0;
                after_quote = 1;
                if (d != EOF) ungetc(d, r->f);
                continue;
            }
            if (c == '\n') r->line++;
            buf_putc(&r->data, (char)c);
        } else if (c == ',' || c == '\n' || c == '\r') {
            if (c == '\r') {
                int d = getc(r->f);
                if (d != '\n') {
                    if (d != EOF) ungetc(d, r->f);
                    snprintf(err, errlen, "line %ld: bare carriage return", r->record_line);
                    skip_line(r);
                    return -1;
                }
                c = '\n';
            }
            if (r->nfields == CSV_MAX_FIELDS) {
                snprintf(err, errlen, "line %ld: more than %d fields", r->record_line, CSV_MAX_FIELDS);
                if (c != '\n') skip_line(r);
                else r->line++;
                return -1;
            }
            buf_putc(&r->data, '\0');
            r->off[r->nfields++] = field_start;
            field_start = r->data.len;
            after_quote = 0;
            at_start = 1;
            if (c == '\n') { r->line++; return 1; }
            continue;
        } else if (c == '"') {
            if (!at_start) {
                snprintf(err, errlen, "line %ld: quote inside an unquoted field", r->record_line);
                skip_line(r);
                return -1;
            }
            quoted = 1;
        } else {
            if (after_quote) {
                snprintf(err, errlen, "line %ld: text after a closing quote", r->record_line);
                skip_line(r);
                return -1;
            }
            buf_putc(&r->data, (char)c);
        }
        at_start = 0;
        if (r->data.len - field_start > CSV_MAX_FIELD) {
            snprintf(err, errlen, "line %ld: field longer than %d bytes", r->record_line, CSV_MAX_FIELD);
            /* the rest of a quoted monster may span lines: give up on this record's line */
            skip_line(r);
            return -1;
        }
    }
}

csv_reader_t *csv_open(FILE *f, char *err, size_t errlen)
{
    csv_reader_t *r = xcalloc(1, sizeof *r);
    r->f = f;
    r->line = 1;
    int a = getc(f);
    if (a == 0xEF) {
        int b = getc(f), c = getc(f);
        if (b != 0xBB || c != 0xBF) {
            snprintf(err, errlen, "line 1: not UTF-8 text");
            csv_close(r);
            return NULL;
        }
    } else if (a != EOF) {
        ungetc(a, f);
    }
    int rc;
    do {
        rc = read_record(r, err, errlen);
    } while (rc == 1 && r->nfields == 1 && !r->data.data[0]);   /* leading blank lines */
    if (rc <= 0) {
        if (rc == 0) snprintf(err, errlen, "empty file: a header row is required");
        csv_close(r);
        return NULL;
    }
    for (int i = 0; i < r->nfields; i++) {
        char *name = str_trim(xstrdup(r->data.data + r->off[i]));
        if (!*name || !utf8_valid(name, strlen(name))) {
            snprintf(err, errlen, "header: column %d has %s name", i + 1, *name ? "a non-UTF-8" : "an empty");
            free(name);
            csv_close(r);
            return NULL;
        }
        for (int j = 0; j < r->ncols; j++)
            if (!strcasecmp(r->names[j], name)) {
                snprintf(err, errlen, "header: duplicate column '%s'", name);
                free(name);
                csv_close(r);
                return NULL;
            }
        r->names[r->ncols++] = name;
    }
    return r;
}

void csv_close(csv_reader_t *r)
{
    if (!r) return;
    for (int i = 0; i < r->ncols; i++) free(r->names[i]);
    buf_free(&r->data);
    free(r);
}

int csv_next(csv_reader_t *r, char *err, size_t errlen)
{
    for (;;) {
        int rc = read_record(r, err, errlen);
        if (rc != 1) return rc;
        if (r->nfields == 1 && !r->data.data[0]) continue;   /* blank line */
        if (r->nfields > r->ncols) {
            snprintf(err, errlen, "line %ld: %d fields but the header has %d", r->record_line, r->nfields,
                     r->ncols);
            return -1;
        }
        return 1;
    }
}

int csv_column(const csv_reader_t *r, const char *name)
{
    for (int i = 0; i < r->ncols; i++)
        if (!strcasecmp(r->names[i], name)) return i;
    return -1;
}

int csv_columns(const csv_reader_t *r) { return r->ncols; }
const char *csv_header(const csv_reader_t *r, int col) { return col >= 0 && col < r->ncols ? r->names[col] : NULL; }

const char *csv_field(const csv_reader_t *r, int col)
{
    if (col < 0 || col >= r->nfields) return "";
    return r->data.data + r->off[col];
}

const char *csv_get(const csv_reader_t *r, const char *name)
{
    int c = csv_column(r, name);
    return c < 0 ? NULL : csv_field(r, c);
}

int  csv_record_fields(const csv_reader_t *r) { return r->nfields; }
long csv_line(const csv_reader_t *r) { return r->record_line; }
