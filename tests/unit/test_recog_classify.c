/* test_recog_classify.c — the operator's category classifier in recognition
 * (recog/classify.h): fusion with the neighbours' vote (weights, renormalisation over known
 * labels, case-insensitive matching that keeps the catalog's spelling, unknown labels and
 * filters, caps, empty and degenerate inputs), and predictions of a tiny generated ViT on
 * an intake's thumbnail. */
#include "test.h"
#include "core/buf.h"
#include "recog/classify.h"
#include "recog/clipmatch.h"
#include <stdlib.h>
#include <strings.h>

static int known_cat(void *ctx, const char *name)
{
    (void)ctx;
    static const char *cats[] = { "boots", "hats", "saddles", "belts" };
    for (size_t i = 0; i < 4; i++) if (!strcasecmp(cats[i], name)) return 1;
    return 0;
}

static float conf_of(const recog_label_t *l, int n, const char *name)
{
    for (int i = 0; i < n; i++) if (!strcmp(l[i].name, name)) return l[i].confidence;
    return -1;
}

TEST(recog_classify_fuse)
{
    recog_label_t vote[RECOG_MAX_LABELS] = { { "saddles", 0.75f }, { "hats", 0.25f } };
    recog_label_t cls[] = { { "Belts", 0.6f }, { "Spaceships", 0.2f }, { "SADDLES", 0.2f } };
    int n = recog_fuse_classifier(vote, 2, RECOG_MAX_LABELS, cls, 3, NULL, known_cat, NULL);
    REQUIRE(n == 3);
    /* classifier renormalised over known labels: belts 0.75, saddles 0.25 */
    float w = CLIP_ZS_WEIGHT;
    CHECK_NEAR(conf_of(vote, n, "saddles"), w * 0.25 + (1 - w) * 0.75, 1e-5);
    CHECK_NEAR(conf_of(vote, n, "hats"), (1 - w) * 0.25, 1e-5);
    CHECK_NEAR(conf_of(vote, n, "Belts"), w * 0.75, 1e-5);   /* not in the vote: its own spelling */
    CHECK(conf_of(vote, n, "Spaceships") < 0 && conf_of(vote, n, "SADDLES") < 0);
    CHECK(vote[0].confidence >= vote[1].confidence && vote[1].confidence >= vote[2].confidence);
    float sum = 0;
    for (int i = 0; i < n; i++) sum += vote[i].confidence;
    CHECK_NEAR(sum, 1, 1e-5);

    /* only unknown labels: the vote is left alone */
    recog_label_t v2[RECOG_MAX_LABELS] = { { "boots", 1.0f } };
    recog_label_t junk[] = { { "Unicorns", 0.9f }, { "", 0.1f } };
    CHECK_INT(recog_fuse_classifier(v2, 1, RECOG_MAX_LABELS, junk, 2, NULL, known_cat, NULL), 1);
    CHECK_NEAR(v2[0].confidence, 1, 0);
    CHECK_INT(recog_fuse_classifier(v2, 1, RECOG_MAX_LABELS, NULL, 5, NULL, known_cat, NULL), 1);
    CHECK_INT(recog_fuse_classifier(v2, 1, RECOG_MAX_LABELS, cls, 0, NULL, known_cat, NULL), 1);

    /* a filter leaves only that category from the classifier */
    recog_label_t v3[RECOG_MAX_LABELS] = { { "hats", 1.0f } };
    recog_label_t c3[] = { { "Belts", 0.9f }, { "hats", 0.1f } };
    n = recog_fuse_classifier(v3, 1, RECOG_MAX_LABELS, c3, 2, "hats", known_cat, NULL);
    CHECK_INT(n, 1);
    CHECK_NEAR(v3[0].confidence, 1, 1e-6);

    /* an empty vote (no matches): the classifier alone, half weight each way -> uniform vote */
    recog_label_t v4[RECOG_MAX_LABELS];
    recog_label_t c4[] = { { "boots", 1.0f } };
    n = recog_fuse_classifier(v4, 0, RECOG_MAX_LABELS, c4, 1, NULL, known_cat, NULL);
    CHECK_INT(n, 1);
    CHECK_NEAR(v4[0].confidence, 1, 1e-6);

    /* the cap: more candidates than room keeps the best */
    recog_label_t v5[2] = { { "boots", 0.5f }, { "hats", 0.5f } };
    recog_label_t c5[] = { { "saddles", 0.7f }, { "belts", 0.3f } };
    n = recog_fuse_classifier(v5, 2, 2, c5, 2, NULL, known_cat, NULL);
    CHECK_INT(n, 2);
    CHECK_STR(v5[0].name, "saddles");
}

TEST(recog_classify_predict_tiny_vit)
{
    char *d = test_tmpdir();
    buf_t cmd = { 0 };
    buf_printf(&cmd, "/usr/bin/python3 tests/tools/recog_make_vit.py '%s/vit' Hats Boots Hats Saddles Moon Belts > /dev/null", d);
    int made = system(cmd.data) == 0;
    buf_reset(&cmd);
    buf_printf(&cmd, "%s/vit", d);
    char err[256];
    vit_model_t *m = made ? vit_load(cmd.data, 0, err, sizeof err) : NULL;
    buf_free(&cmd);
    free(d);
    REQUIRE(m);
    vision_intake_t in;
    memset(&in, 0, sizeof in);
    recog_label_t out[RECOG_CLASSIFIER_MAX];
    CHECK_INT(recog_classifier_predict(m, &in, out, RECOG_CLASSIFIER_MAX), -1);   /* no thumbnail */
    REQUIRE(vision_image_alloc(&in.thumb, 200, 130, 3) == 0);
    for (int i = 0; i < 200 * 130 * 3; i++) in.thumb.px[i] = (uint8_t)(i * 7);
    int n = recog_classifier_predict(m, &in, out, RECOG_CLASSIFIER_MAX);
    CHECK_INT(n, 5);
    CHECK_STR(out[0].name, "Hats");
    CHECK_STR(out[1].name, "Moon");
    float sum = 0;
    for (int i = 0; i < n; i++) sum += out[i].confidence;
    CHECK_NEAR(sum, 1, 1e-4);
    CHECK(out[0].confidence > 0.8f);
    CHECK_INT(recog_classifier_predict(m, &in, out, 2), 2);
    CHECK_INT(recog_classifier_predict(m, &in, out, 0), -1);
    CHECK_INT(recog_classifier_predict(NULL, &in, out, 5), -1);
    vision_image_free(&in.thumb);
    vit_free(m);
}
