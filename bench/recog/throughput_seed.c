/* throughput_seed.c — a data dir holding N catalog products, each with one image whose CLIP
 * embedding is a random unit vector (8 categories x 40 brands), written through the store
 * API exactly as `rodeo catalog import` leaves them, so `rodeo serve` loads a full-size CLIP
 * index at start. Random vectors: a random-weight model has no meaningful embeddings, and
 * the scan and the response reads cost the same either way.
 *
 * usage: throughput_seed DATA_DIR CLIP_MODEL_DIR [N=100000] */
#include "recog/clipmatch.h"
#include "store/catalog.h"
#include "store/store.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x243F6A8885A308D3ULL;
static double uniform(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: throughput_seed DATA_DIR CLIP_MODEL_DIR [N]\n"); return 2; }
    long n = argc > 3 ? atol(argv[3]) : 100000;
    char err[300];
    clip_model_t *m = clip_load(argv[2], 0, err, sizeof err);
    recog_clip_t *c = m ? recog_clip_new(m, err, sizeof err) : NULL;
    if (!c) { fprintf(stderr, "model: %s\n", err); return 1; }
    store_t *st = store_open(NULL, argv[1], 2, err, sizeof err);
    if (!st || store_migrate(st, err, sizeof err) < 0) { fprintf(stderr, "store: %s\n", err); return 1; }
    static const char *cats[8] = { "boots", "hats", "saddles", "belts", "buckles", "vests", "jeans", "jackets" };
    int dim = recog_clip_dim(c);
    float *v = malloc(sizeof(float) * (size_t)dim);
    const char *coll = recog_clip_collection(c, RECOG_CLIP_IMAGE);
    for (long i = 0; i < n; i++) {
        char sku[32], brand[32], model[48], desc[96], sha[65];
        snprintf(sku, sizeof sku, "BENCH-%07ld", i);
        snprintf(brand, sizeof brand, "Brand%ld", i % 40);
        snprintf(model, sizeof model, "Model %ld", i);
        snprintf(desc, sizeof desc, "Bench product %ld, %s by %s", i, cats[i % 8], brand);
        snprintf(sha, sizeof sha, "%064ld", i);
        store_product_in_t p = { sku, NULL, brand, model, cats[i % 8], NULL, desc, NULL, NULL, 1000 + i % 50000 };
        int64_t id = 0, image = 0;
        if (store_product_upsert(st, &p, &id, NULL) != STORE_OK ||
            store_product_image_add(st, id, NULL, "https://example.invalid/p.jpg", sha, &image, NULL) != STORE_OK) {
            fprintf(stderr, "store write failed at %ld\n", i);
            return 1;
        }
        double ss = 0;
        for (int k = 0; k < dim; k++) {
            double g = sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform());
            v[k] = (float)g;
            ss += g * g;
        }
        for (int k = 0; k < dim; k++) v[k] = (float)(v[k] / sqrt(ss));
        if (store_vector_put(st, coll, image, dim, v, sizeof(float) * (size_t)dim) != STORE_OK) {
            fprintf(stderr, "vector write failed at %ld\n", i);
            return 1;
        }
        if ((i + 1) % 10000 == 0) fprintf(stderr, "%ld products\n", i + 1);
    }
    free(v);
    store_close(st);
    recog_clip_free(c);
    clip_free(m);
    return 0;
}
