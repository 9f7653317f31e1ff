/* embed_clip.h — the CLIP text encoder (src/ml/clip.h) as a knowledge-base embedding source,
 * for deployments without an OpenAI-compatible /embeddings endpoint but with CLIP weights on
 * disk. CLIP's text tower sees at most its context (77 tokens), so a chunk is represented by
 * its opening words: weaker than a passage embedding model, which is why BM25 stays in the
 * fusion and this source is opt-in (KB_EMBEDDINGS=clip). */
#ifndef RODEO_KB_EMBED_CLIP_H
#define RODEO_KB_EMBED_CLIP_H
#include <stddef.h>

typedef struct kb_clip kb_clip_t;

/* Loads the model directory (text tower required). NULL with a message on failure. */
kb_clip_t *kb_clip_open(const char *dir, char *err, size_t errlen);
void       kb_clip_close(kb_clip_t *c);
/* A kb_embed_fn: ud is the kb_clip_t. Vectors are L2-normalised. */
int        kb_clip_embed(const char *text, float **vec, int *dim, void *ud);
#endif
