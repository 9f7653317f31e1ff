/* blob_put.c — what storing a recognised upload in the fs blob store costs: the copy path
 * (blob_put_file: read, SHA-256, write, fsync file + dir, rename) against the vouched path
 * (blob_put_file_hashed: fsync, link, fsync dir), on a photo-sized file in the data dir's
 * temp directory as the HTTP layer leaves it. Each round stores a fresh file both ways in
 * alternating order; reports the medians of thread CPU time, wall time and the paired ratio.
 * usage: blob_put DATA_DIR [MB] [ROUNDS] */
#include "blob/blob.h"
#include "core/buf.h"
#include "core/crypto.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A fresh "upload": size bytes, distinct per (round, way), digest computed here as the HTTP
 * layer does while streaming (not timed). */
static void make_upload(const char *path, size_t size, unsigned seed, char key[65])
{
    unsigned char *b = malloc(size);
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < size; i++) { x = x * 1103515245u + 12345u; b[i] = (unsigned char)(x >> 16); }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, size, f) != size) { perror(path); exit(1); }
    fclose(f);
    sha256_hex(b, size, key);
    free(b);
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: blob_put DATA_DIR [MB] [ROUNDS]\n"); return 2; }
    size_t size = (size_t)((argc > 2 ? atof(argv[2]) : 2.0) * 1024 * 1024);
    int rounds = argc > 3 ? atoi(argv[3]) : 40;
    char err[256];
    blob_store_t *s = blob_fs_open(argv[1], NULL, err, sizeof err);
    if (!s) { fprintf(stderr, "%s\n", err); return 1; }
    buf_t tmp = {0};
    buf_printf(&tmp, "%s/tmp", argv[1]);
    mkdir(tmp.data, 0700);
    buf_puts(&tmp, "/rodeo-upload-bench");
    double *cpu[2], *wall[2], *ratio = calloc((size_t)rounds, sizeof *ratio);
    for (int w = 0; w < 2; w++) { cpu[w] = calloc((size_t)rounds, sizeof(double)); wall[w] = calloc((size_t)rounds, sizeof(double)); }
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < 2; k++) {
            int w = (r + k) % 2;   /* alternate which way goes first */
            char key[65];
            make_upload(tmp.data, size, (unsigned)(r * 2 + w), key);
            double c0 = now_ms(CLOCK_THREAD_CPUTIME_ID), w0 = now_ms(CLOCK_MONOTONIC);
            int rc = w ? blob_put_file_hashed(s, key, tmp.data, err, sizeof err)
                       : blob_put_file(s, key, tmp.data, err, sizeof err);
            cpu[w][r] = now_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
            wall[w][r] = now_ms(CLOCK_MONOTONIC) - w0;
            if (rc != BLOB_OK) { fprintf(stderr, "put: %s\n", err); return 1; }
            unlink(tmp.data);   /* as the HTTP layer does after the response */
            blob_remove(s, key, err, sizeof err);
        }
        ratio[r] = cpu[1][r] / cpu[0][r];
    }
    printf("file %.1f MB, %d rounds\n", (double)size / 1048576, rounds);
    printf("copy   (blob_put_file):        cpu %.3f ms  wall %.3f ms (medians)\n", median(cpu[0], rounds), median(wall[0], rounds));
    printf("linked (blob_put_file_hashed): cpu %.3f ms  wall %.3f ms (medians)\n", median(cpu[1], rounds), median(wall[1], rounds));
    printf("paired cpu ratio linked/copy: median %.3f\n", median(ratio, rounds));
    blob_close(s);
    buf_free(&tmp);
    return 0;
}
