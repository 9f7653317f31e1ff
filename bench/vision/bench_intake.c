/* bench_intake.c — times vision_intake_file() and measures its peak heap.
 *   bench_intake FILE ITERS          one JSON line per iteration with stage timings (us)
 *   bench_intake --mem FILE          peak heap bytes of one intake (after a warm-up run)
 *   bench_intake --serve             reads a path per stdin line, answers one JSON line:
 *                                    lets peers.py interleave us with the Python peers
 * Heap is counted by interposing malloc/calloc/realloc/free/memalign for the whole process
 * (libjpeg, libpng, libwebp, libexif, jansson included); the mapped file's page cache is
 * not heap and is reported separately by the caller. Built by bench/vision/run.sh.
 * BENCH_JPEG_DC=0 switches our JPEG entropy decoder off (libjpeg alone), for A/B runs. */
#include "vision/intake.h"
#include "vision/jpeg_dc.h"
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long thread_cpu_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void  __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static size_t live, peak;

static void *note(void *p)
{
    if (p) { live += malloc_usable_size(p); if (live > peak) peak = live; }
    return p;
}

void *malloc(size_t n) { return note(__libc_malloc(n)); }
void *calloc(size_t a, size_t b) { return note(__libc_calloc(a, b)); }
void free(void *p) { if (p) live -= malloc_usable_size(p); __libc_free(p); }
void *realloc(void *p, size_t n)
{
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = __libc_realloc(p, n);
    if (q || n == 0) live -= old;
    return q ? note(q) : NULL;
}
void *memalign(size_t a, size_t n) { return note(__libc_memalign(a, n)); }
void *aligned_alloc(size_t a, size_t n) { return note(__libc_memalign(a, n)); }
int posix_memalign(void **out, size_t a, size_t n)
{
    void *p = __libc_memalign(a, n);
    if (!p) return 12;
    *out = note(p);
    return 0;
}

int main(int argc, char **argv)
{
    vision_intake_options_t o;
    vision_intake_options_default(&o);
    o.max_file_bytes = 64u << 20;
    o.consent = 1;
    const char *dc = getenv("BENCH_JPEG_DC");
    if (dc && !strcmp(dc, "0")) vision_jpeg_dc_enable(0);
    if (argc == 3 && !strcmp(argv[1], "--mem")) {
        vision_intake_t r;
        vision_intake_file(argv[2], &o, &r);
        vision_intake_free(&r);
        size_t base = live;
        peak = live;
        int rc = vision_intake_file(argv[2], &o, &r);
        size_t decoded = (size_t)r.decode_width * r.decode_height * 3;
        printf("{\"rc\":%d,\"peak_heap\":%zu,\"decoded_bytes\":%zu,\"decode\":\"%dx%d\",\"scale\":%d,"
               "\"ratio\":%.2f}\n", rc, peak - base, decoded, r.decode_width, r.decode_height,
               r.scale_denom, decoded ? (double)(peak - base) / decoded : 0);
        vision_intake_free(&r);
        return rc ? 1 : 0;
    }
    if (argc == 2 && !strcmp(argv[1], "--serve")) {
        char line[4096];
        while (fgets(line, sizeof line, stdin)) {
            line[strcspn(line, "\n")] = 0;
            vision_intake_t r;
            long long c0 = thread_cpu_us();
            int rc = vision_intake_file(line, &o, &r);
            long long cpu = thread_cpu_us() - c0;
            printf("{\"rc\":%d,\"us\":%lld,\"cpu_us\":%lld,\"decode\":%lld}\n", rc,
                   (long long)r.t.total_us, cpu, (long long)r.t.decode_us);
            fflush(stdout);
            vision_intake_free(&r);
        }
        return 0;
    }
    if (argc != 3) { fprintf(stderr, "usage: bench_intake FILE ITERS | --mem FILE | --serve\n"); return 2; }
    int iters = atoi(argv[2]);
    for (int i = 0; i < iters; i++) {
        vision_intake_t r;
        if (vision_intake_file(argv[1], &o, &r) != 0) {
            fprintf(stderr, "rejected: %s\n", r.error.message);
            return 1;
        }
        const vision_timings_t *t = &r.t;
        printf("{\"total\":%lld,\"read\":%lld,\"sha256\":%lld,\"header\":%lld,\"exif\":%lld,"
               "\"decode\":%lld,\"tensor\":%lld,\"phash\":%lld,\"thumb\":%lld}\n",
               (long long)t->total_us, (long long)t->read_us, (long long)t->sha256_us,
               (long long)t->header_us, (long long)t->exif_us, (long long)t->decode_us,
               (long long)t->tensor_us, (long long)t->phash_us,
               (long long)t->thumb_us);
        vision_intake_free(&r);
    }
    return 0;
}
