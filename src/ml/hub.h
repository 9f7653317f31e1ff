/* hub.h — model weights from a Hugging Face compatible hub: download with resume and
 * SHA-256 verification, and a manifest for later offline verification.
 *
 * Files come from  {endpoint}/{repo}/resolve/{revision}/{file}  (redirects followed). A
 * partial download is kept as FILE.part and resumed with a Range request (also retried
 * automatically a few times when a transfer breaks). The expected SHA-256 is taken from the
 * X-Linked-Etag or ETag response header when it is a 64-hex digest (the hub sends the LFS
 * sha256 there); a mismatch deletes the partial file and fails. Each completed file's size
 * and SHA-256 go into DIR/.rodeo-manifest.json, which hub_verify checks. */
#ifndef RODEO_ML_HUB_H
#define RODEO_ML_HUB_H
#include <stdio.h>
#include <stddef.h>

#define HUB_DEFAULT_ENDPOINT "https://huggingface.co"
#define HUB_MANIFEST ".rodeo-manifest.json"

typedef struct {
    const char *endpoint;        /* NULL: HF_ENDPOINT or HUB_DEFAULT_ENDPOINT */
    const char *repo;            /* e.g. "openai/clip-vit-base-patch32" */
    const char *revision;        /* NULL: "main" */
    const char *dest;            /* directory, created if missing */
    FILE       *progress;        /* progress bar stream, or NULL */
    int         retries;         /* automatic resumes after a broken transfer (0: default 3) */
    long        timeout_s;       /* stall timeout (0: default 60) */
} hub_pull_opts_t;

/* Downloads files (NULL-terminated) into o->dest. Returns 0 or -1 with a message. */
int hub_pull(const hub_pull_opts_t *o, const char *const *files, char *err, size_t errlen);
/* Checks every file of dir's manifest (size and SHA-256); writes one line per file to out
 * (may be NULL). Returns the number of bad or missing files, or -1 without a manifest. */
int hub_verify(const char *dir, FILE *out, char *err, size_t errlen);
/* SHA-256 of a file as lowercase hex. Returns 0 or -1. */
int hub_sha256_file(const char *path, char hex[65], size_t *size);
#endif
