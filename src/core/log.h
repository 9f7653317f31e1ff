/* log.h — leveled, thread-safe logging to stderr, one line per event.
 * Level from LOG_LEVEL (debug|info|warn|error; default info). Never log secrets:
 * tokens, passwords and keys must not reach these functions. */
#ifndef RODEO_CORE_LOG_H
#define RODEO_CORE_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

void log_set_level(enum log_level level);
enum log_level log_level_parse(const char *s);   /* unknown -> LOG_INFO */
int  log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#endif
