/* clip_bench.c — times our CLIP towers on one configuration and prints one JSON line.
 *   clip_bench DIR image|text BATCH THREADS ITERS [bf16|int8]
 * Reports the median time per item over ITERS runs (after one warm-up), the model load time,
 * peak RSS, achieved GFLOP/s and this thread count's matrix-product peaks on a 400x3072x768
 * product (the MLP at batch 8): OpenBLAS sgemm and our AVX-512 float32 kernel. Built and driven by bench/ml/run.sh. */
#include "ml/clip.h"
#include "ml/kernels.h"
#include "ml/bpe.h"
#include "ml/gemm_f32.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* CPU time of the whole process: on 1 thread the time the work itself took, without the
 * waits for a core that a loaded 2-vCPU machine adds to the wall clock. */
static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* GFLOP/s of OpenBLAS's sgemm (ours = 0) or of our AVX-512 kernel (ours = 1). */
static double sgemm_peak(int ours)
{
    int M = 400, N = 3072, K = 768;
    float *a = malloc(4L * M * K), *b = malloc(4L * N * K), *c = malloc(4L * M * N);
    for (long i = 0; i < (long)M * K; i++) a[i] = (float)(i % 7) * 0.1f;
    for (long i = 0; i < (long)N * K; i++) b[i] = (float)(i % 5) * 0.1f;
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t = now_ms();
        if (ours) gemm_f32_nt(c, a, b, M, N, K, 0);
        else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, c, N);
        t = now_ms() - t;
        if (t < best) best = t;
    }
    free(a); free(b); free(c);
    return 2.0 * M * N * K / (best / 1e3) / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 6) { fprintf(stderr, "usage: clip_bench DIR image|text BATCH THREADS ITERS [bf16|int8]\n"); return 2; }
    const char *dir = argv[1];
    int text = !strcmp(argv[2], "text"), batch = atoi(argv[3]), threads = atoi(argv[4]), iters = atoi(argv[5]);
    int bf16 = argc > 6 && !strcmp(argv[6], "bf16"), int8 = argc > 6 && !strcmp(argv[6], "int8");
    ml_threads_set(threads);
    char err[512];
    double t0 = now_ms();
    clip_model_t *m = clip_load(dir, (bf16 ? CLIP_LOAD_BF16 : 0) | (int8 ? CLIP_LOAD_INT8 : 0) | (text ? 0 : CLIP_LOAD_NO_TEXT), err, sizeof err);
    double load_ms = now_ms() - t0;
    if (!m) { fprintf(stderr, "%s\n", err); return 1; }
    int d = clip_embed_dim(m), s = clip_image_size(m);
    float *out = malloc(sizeof(float) * d * batch);
    float *px = NULL;
    const char **texts = NULL;
    static const char *const prompts[] = {
        "a photo of a cowboy hat", "a product photo of western boots", "a photo of a leather saddle",
        "a photo of a rodeo belt buckle", "a product photo of a lasso rope", "a photo of denim jeans"};
    if (text) {
        texts = malloc(sizeof *texts * batch);
        for (int i = 0; i < batch; i++) texts[i] = prompts[i % 6];
    } else {
        px = malloc(sizeof(float) * 3 * s * s * batch);
        srand(1);
        for (long i = 0; i < 3L * s * s * batch; i++) px[i] = (float)rand() / RAND_MAX * 4 - 2;
    }
    double *times = malloc(sizeof(double) * iters), *ctimes = malloc(sizeof(double) * iters);
    for (int it = -1; it < iters; it++) {
        double t = now_ms(), c = cpu_ms();
        if (text) clip_embed_texts(m, texts, batch, out);
        else clip_embed_images(m, px, batch, out);
        t = now_ms() - t;
        c = cpu_ms() - c;
        if (it >= 0) { times[it] = t / batch; ctimes[it] = c / batch; }
    }
    qsort(times, iters, sizeof *times, cmp);
    qsort(ctimes, iters, sizeof *ctimes, cmp);
    double med = times[iters / 2], cmed = ctimes[iters / 2];
    /* VmHWM, not ru_maxrss: Linux carries ru_maxrss across execve (the parent's Python). */
    double rss_mb = 0;
    FILE *st = fopen("/proc/self/status", "r");
    char line[256];
    while (st && fgets(line, sizeof line, st))
        if (!strncmp(line, "VmHWM:", 6)) rss_mb = atof(line + 6) / 1024.0;
    if (st) fclose(st);
    double peak = sgemm_peak(0), kpeak = gemm_f32_hw() ? sgemm_peak(1) : 0;
    /* FLOPs of the vision tower per image (ViT: 2 x MACs of every product). */
    double gflop = 0;
    if (!text) {
        int T = (s / 32) * (s / 32) + 1;
        gflop = 12.0 * (4.0 * T * 768 * 768 * 2 + 2.0 * T * 768 * 3072 * 2 + 2.0 * T * T * 768 * 2) / 1e9 +
                (T - 1) * 3.0 * 32 * 32 * 768 * 2 / 1e9;
    }
    printf("{\"mode\":\"%s\",\"batch\":%d,\"threads\":%d,\"precision\":\"%s\",\"bf16\":%d,\"ms_per_item\":%.2f,\"cpu_ms_per_item\":%.2f,\"load_ms\":%.1f,"
           "\"rss_mb\":%.1f,\"gflops\":%.1f,\"sgemm_peak\":%.1f,\"f32_kernel_peak\":%.1f}\n",
           argv[2], batch, threads, clip_precision(m), clip_uses_bf16(m), med, cmed, load_ms, rss_mb,
           gflop ? gflop / (med / 1e3) : 0, peak, kpeak);
    free(times); free(ctimes); free(out); free(px); free(texts);
    clip_free(m);
    return 0;
}
