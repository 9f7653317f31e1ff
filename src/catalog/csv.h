/* csv.h — a strict streaming CSV reader (RFC 4180 plus what spreadsheets write): a header
 * row names the columns; fields may be quoted ("" is a quote inside quotes, newlines are
 * allowed inside quotes); CRLF or LF line ends; a UTF-8 byte-order mark is skipped.
 * Records are read one at a time so a catalog of any size streams in constant memory.
 *
 * Hostile input is reported, never trusted: a field over CSV_MAX_FIELD bytes, a record with
 * more than CSV_MAX_FIELDS fields, an unterminated quote or a stray quote inside an
 * unquoted field is an error for that record (with its line number); reading continues at
 * the next line, so one broken row never hides the rest of the file. */
#ifndef RODEO_CATALOG_CSV_H
#define RODEO_CATALOG_CSV_H
#include <stddef.h>
#include <stdio.h>

#define CSV_MAX_FIELD  (64 * 1024)
#define CSV_MAX_FIELDS 64

typedef struct csv_reader csv_reader_t;

/* Reads the header row from f (not owned; the caller closes it). NULL with err when the
 * header is missing, malformed, has an empty or duplicate column name. */
csv_reader_t *csv_open(FILE *f, char *err, size_t errlen);
void          csv_close(csv_reader_t *r);

/* Next record: 1 read (fields valid until the next call), 0 end of input, -1 a malformed
 * record (err says why, with its line; call again to continue). Blank lines are skipped.
 * A record with fewer fields than the header reads the missing ones as "". */
int csv_next(csv_reader_t *r, char *err, size_t errlen);

/* Column index by header name (case-insensitive), or -1. */
int         csv_column(const csv_reader_t *r, const char *name);
int         csv_columns(const csv_reader_t *r);
const char *csv_header(const csv_reader_t *r, int col);
/* Field of the current record by column index ("" when absent). */
const char *csv_field(const csv_reader_t *r, int col);
/* Field by header name: NULL when the file has no such column. */
const char *csv_get(const csv_reader_t *r, const char *name);
/* Number of fields the current record actually had. */
int         csv_record_fields(const csv_reader_t *r);
/* 1-based line where the current record started. */
long        csv_line(const csv_reader_t *r);
#endif
