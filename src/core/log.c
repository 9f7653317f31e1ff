/* log.c — one fprintf per line keeps lines whole across threads (stdio locks the stream). */
#include "core/log.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum log_level current = LOG_INFO;
static const char *names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level) { current = level; }
int  log_enabled(enum log_level level) { return level >= current; }

enum log_level log_level_parse(const char *s)
{
    if (!s) return LOG_INFO;
    for (int i = 0; i < 4; i++)
        if (!strcasecmp(s, names[i])) return (enum log_level)i;
    if (!strcasecmp(s, "warning")) return LOG_WARN;
    if (!strcasecmp(s, "off") || !strcasecmp(s, "none")) return LOG_OFF;
    return LOG_INFO;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < current || level > LOG_ERROR) return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
