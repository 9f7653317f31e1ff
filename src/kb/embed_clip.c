/* embed_clip.c — CLIP text embeddings for the knowledge base (see embed_clip.h). */
#include "kb/embed_clip.h"
#include "ml/clip.h"
#include "core/buf.h"
#include <stdio.h>
#include <stdlib.h>

struct kb_clip { clip_model_t *m; int dim; };

kb_clip_t *kb_clip_open(const char *dir, char *err, size_t errlen)
{
    clip_model_t *m = clip_load(dir, 0, err, errlen);
    if (!m) return NULL;
    if (!clip_has_text(m)) {
        snprintf(err, errlen, "%s has no text tower", dir);
        clip_free(m);
        return NULL;
    }
    kb_clip_t *c = xcalloc(1, sizeof *c);
    c->m = m;
    c->dim = clip_embed_dim(m);
    return c;
}

void kb_clip_close(kb_clip_t *c)
{
    if (!c) return;
    clip_free(c->m);
    free(c);
}

int kb_clip_embed(const char *text, float **vec, int *dim, void *ud)
{
    kb_clip_t *c = ud;
    float *v = xmalloc((size_t)c->dim * sizeof *v);
    const char *texts[1] = { text };
    if (clip_embed_texts(c->m, texts, 1, v) != 0) { free(v); return -1; }
    *vec = v;
    *dim = c->dim;
    return 0;
}
