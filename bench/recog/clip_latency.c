/* clip_latency.c — recognition latency on the CLIP path: a 12 MP JPEG through the intake
 * (DCT-scaled decode, EXIF, pHash, 224 tensor), the CLIP image embedding, and the matcher
 * (recog/clipmatch.h: exact filtered scan over N entries, zero-shot over the category list
 * and the chosen category's brands with cached prompt-ensemble embeddings, the neighbours'
 * vote). The N entries are random unit vectors (8 categories x 40 brands): a random-weight
 * model has no meaningful embeddings, and the scan costs the same either way. Response
 * assembly from the store (a few primary-key reads) is not included, as in latency.c.
 *
 * usage: clip_latency MODEL_DIR PHOTO.jpg [N=100000] [ITER=20] [bf16|int8]
 * CLIP_LATENCY_WARM=1: warm the zero-shot labels first (recog_clip_warm_labels, as the server
 * does in the background at start) and report what that took; the first query then finds
 * them cached. */
#include "recog/clipmatch.h"
#include "vision/intake.h"
#include "core/timeutil.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clip_catalog.h"

/* Process CPU time (all threads: the matrix threads of the embedding included), in us. */
static int64_t cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
    printf("  %-26s p50 %8.2f ms   p90 %8.2f ms\n", name, v[n / 2] / 1000.0, v[(n * 9) / 10] / 1000.0);
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: clip_latency MODEL_DIR PHOTO.jpg [N] [ITER] [bf16|int8]\n"); return 2; }
    long N = argc > 3 ? atol(argv[3]) : 100000;
    int iters = argc > 4 ? atoi(argv[4]) : 20;
    int bf16 = argc > 5 && !strcmp(argv[5], "bf16"), int8 = argc > 5 && !strcmp(argv[5], "int8");
    char err[300];
    clip_model_t *m = clip_load(argv[1], bf16 ? CLIP_LOAD_BF16 : int8 ? CLIP_LOAD_INT8 : 0, err, sizeof err);
    if (!m) { fprintf(stderr, "%s\n", err); return 1; }
    recog_clip_t *c = recog_clip_new(m, err, sizeof err);
    if (!c) { fprintf(stderr, "%s\n", err); return 1; }
    int dim = recog_clip_dim(c);
    float *v = malloc(sizeof(float) * (size_t)dim);
    bench_fill_catalog(c, N, v);
    printf("CLIP %s (%s), %ld entries of %d dims\n", clip_name(m), clip_precision(m), N, dim);
    int64_t *t_intake = calloc((size_t)iters, 8), *t_embed = calloc((size_t)iters, 8), *t_match = calloc((size_t)iters, 8),
            *t_total = calloc((size_t)iters, 8), *t_cpu = calloc((size_t)iters, 8), *t_mcpu = calloc((size_t)iters, 8);
    int64_t first = 0, first_cpu = 0;
    const char *warm = getenv("CLIP_LATENCY_WARM");
    if (warm && !strcmp(warm, "1")) {
        int64_t w0 = time_mono_us(), wc = cpu_us();
        int nl = recog_clip_warm_labels(c, NULL);
        printf("  label warm-up: %d labels in %.1f ms (CPU %.1f ms)\n", nl, (time_mono_us() - w0) / 1000.0,
               (cpu_us() - wc) / 1000.0);
    }
    for (int it = -1; it < iters; it++) {      /* it = -1: warm-up (fills the label cache) */
        int64_t a = time_mono_us(), ca = cpu_us();
        vision_intake_options_t o;
        vision_intake_options_default(&o);
        o.input_size = recog_clip_image_size(c);
        vision_intake_t in;
        memset(&in, 0, sizeof in);
        if (vision_intake_file(argv[2], &o, &in) != 0) { fprintf(stderr, "intake: %s\n", in.error.message); return 1; }
        int64_t b = time_mono_us();
        if (recog_clip_embed_image(c, in.tensor, v) != 0) { fprintf(stderr, "embed failed\n"); return 1; }
        int64_t d = time_mono_us(), cd = cpu_us();
        recog_result_t r;
        recog_query_t q = { .top_k = 5 };
        recog_clip_query(c, v, &q, &r);
        int64_t e = time_mono_us(), ce = cpu_us();
        vision_intake_free(&in);
        if (it < 0) { first = e - a; first_cpu = ce - ca; continue; }
        t_intake[it] = b - a; t_embed[it] = d - b; t_match[it] = e - d; t_total[it] = e - a;
        t_cpu[it] = ce - ca; t_mcpu[it] = ce - cd;
    }
    printf("  first query (computes the label embeddings unless warmed): %.1f ms (CPU %.1f ms)\n", first / 1000.0,
           first_cpu / 1000.0);
    report("intake (12 MP -> 224)", t_intake, iters);
    report("CLIP image embedding", t_embed, iters);
    report("match + zero-shot + vote", t_match, iters);
    report("total", t_total, iters);
    report("match CPU time", t_mcpu, iters);
    report("total CPU time (process)", t_cpu, iters);
    free(t_intake); free(t_embed); free(t_match); free(t_total); free(t_cpu); free(t_mcpu); free(v);
    recog_clip_free(c);
    clip_free(m);
    return 0;
}
