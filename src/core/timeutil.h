/* timeutil.h — wall clock and monotonic time, ISO-8601 formatting.
 * Every timestamp Rodeo stores is int64 microseconds since the Unix epoch, UTC. */
#ifndef RODEO_CORE_TIMEUTIL_H
#define RODEO_CORE_TIMEUTIL_H
#include <stdint.h>
#include <stddef.h>

int64_t time_now_us(void);        /* wall clock, UTC microseconds */
int64_t time_mono_us(void);       /* monotonic, for durations */
/* "2026-11-24T22:52:00.123456Z" into out (at least 32 bytes); returns out. */
char   *time_iso8601(int64_t us, char *out, size_t cap);
#define TIME_ISO_LEN 32
#endif
