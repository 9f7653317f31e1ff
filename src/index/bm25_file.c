/* bm25_file.c — BM25 snapshot file: save and a defensive loader.
 *
 * Format (little-endian), version 1:
 *   "RDBM25\r\n"  u32 version  u32 ndocs  u32 nterms
 *   ndocs  x { i64 id, u32 len, u8 alive }
 *   nterms x { u16 term_len, term bytes, u32 npost, npost x { u32 doc, u32 tf } }
 *   32-byte SHA-256 of everything before it.
 * Dead slots are dropped when saving (slots are renumbered), so a save compacts the index.
 * The loader trusts nothing: every count is checked against the bytes left, doc numbers
 * against ndocs, postings must ascend, terms must be unique and well-formed. */
#include "index/bm25_internal.h"
#include "core/buf.h"
#include "core/crypto.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "RDBM25\r\n"
#define VERSION 1u

static void put_u16(buf_t *b, uint16_t v) { uint8_t x[2] = { v & 0xff, v >> 8 }; buf_append(b, x, 2); }
static void put_u32(buf_t *b, uint32_t v)
{
    uint8_t x[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };
    buf_append(b, x, 4);
}
static void put_u64(buf_t *b, uint64_t v) { put_u32(b, (uint32_t)v); put_u32(b, (uint32_t)(v >> 32)); }

int bm25_save(bm25_t *ix, const char *path, char *err, size_t errlen)
{
    pthread_rwlock_rdlock(&ix->lock);
    uint32_t *remap = xmalloc((ix->ndocs + 1) * sizeof *remap);
    uint32_t live = 0;
    for (uint32_t s = 0; s < ix->ndocs; s++) remap[s] = ix->docs[s].alive ? live++ : UINT32_MAX;
    buf_t b = {0};
    buf_append(&b, MAGIC, 8);
    put_u32(&b, VERSION);
    put_u32(&b, live);
    uint32_t nterms = 0;
    for (uint32_t t = 0; t < ix->nterms; t++) nterms += ix->terms[t].npost > 0;
    put_u32(&b, nterms);
    for (uint32_t s = 0; s < ix->ndocs; s++) {
        if (!ix->docs[s].alive) continue;
        put_u64(&b, (uint64_t)ix->docs[s].id);
        put_u32(&b, ix->docs[s].len);
        buf_putc(&b, 1);
    }
    for (uint32_t t = 0; t < ix->nterms; t++) {
        const bm25_term_t *term = &ix->terms[t];
        if (term->npost == 0) continue;
        put_u16(&b, (uint16_t)term->len);
        buf_append(&b, term->text, term->len);
        put_u32(&b, term->npost);
        for (uint32_t p = 0; p < term->npost; p++) {
            put_u32(&b, remap[term->post[p].doc]);
            put_u32(&b, term->post[p].tf);
        }
    }
    pthread_rwlock_unlock(&ix->lock);
    free(remap);
    uint8_t digest[SHA256_LEN];
    sha256(b.data, b.len, digest);
    buf_append(&b, digest, sizeof digest);

    /* A private temp name: several processes may share a data dir and save at once. */
    static _Atomic unsigned long seq;
    buf_t tmp = {0};
    buf_printf(&tmp, "%s.tmp.%d.%lu", path, (int)getpid(), (unsigned long)seq++);
    int rc = -1;
    FILE *f = fopen(tmp.data, "wb");
    if (!f) snprintf(err, errlen, "cannot write %s: %s", tmp.data, strerror(errno));
    else {
        size_t w = fwrite(b.data, 1, b.len, f);
        int cerr = fclose(f);
        if (w != b.len || cerr != 0) snprintf(err, errlen, "short write to %s", tmp.data);
        else if (rename(tmp.data, path) != 0)
            snprintf(err, errlen, "cannot rename to %s: %s", path, strerror(errno));
        else rc = 0;
        if (rc != 0) remove(tmp.data);
    }
    buf_free(&tmp);
    buf_free(&b);
    return rc;
}

typedef struct { const uint8_t *p; size_t left; } reader_t;

static int get_bytes(reader_t *r, void *out, size_t n)
{
    if (r->left < n) return -1;
    memcpy(out, r->p, n);
    r->p += n; r->left -= n;
    return 0;
}
static int get_u16(reader_t *r, uint16_t *v)
{
    uint8_t x[2];
    if (get_bytes(r, x, 2)) return -1;
    *v = (uint16_t)(x[0] | x[1] << 8);
    return 0;
}
static int get_u32(reader_t *r, uint32_t *v)
{
    uint8_t x[4];
    if (get_bytes(r, x, 4)) return -1;
    *v = (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
    return 0;
}
static int get_u64(reader_t *r, uint64_t *v)
{
    uint32_t lo, hi;
    if (get_u32(r, &lo) || get_u32(r, &hi)) return -1;
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); bm25_free(ix); return NULL; } while (0)

bm25_t *bm25_load_mem(const uint8_t *data, size_t len, char *err, size_t errlen)
{
    if (len < 8 + 12 + SHA256_LEN || memcmp(data, MAGIC, 8) != 0) {
        snprintf(err, errlen, "not a BM25 index file (bad magic or too short)");
        return NULL;
    }
    uint8_t digest[SHA256_LEN];
    sha256(data, len - SHA256_LEN, digest);
    if (memcmp(digest, data + len - SHA256_LEN, SHA256_LEN) != 0) {
        snprintf(err, errlen, "BM25 index checksum mismatch (truncated or corrupted)");
        return NULL;
    }
    bm25_t *ix = bm25_new();
    reader_t r = { data + 8, len - 8 - SHA256_LEN };
    uint32_t version, ndocs, nterms;
    if (get_u32(&r, &version) || get_u32(&r, &ndocs) || get_u32(&r, &nterms)) FAIL("truncated header");
    if (version != VERSION) FAIL("unsupported BM25 index version %u", version);
    if ((uint64_t)ndocs * 13 > r.left) FAIL("document count %u exceeds file size", ndocs);
    if ((uint64_t)nterms * 6 > r.left) FAIL("term count %u exceeds file size", nterms);
    for (uint32_t i = 0; i < ndocs; i++) {
        uint64_t id; uint32_t dl; uint8_t alive;
        if (get_u64(&r, &id) || get_u32(&r, &dl) || get_bytes(&r, &alive, 1)) FAIL("truncated document table");
        if (alive != 1) FAIL("bad document flag");
        if (bm25_doc_append(ix, (int64_t)id, dl, 1) < 0) FAIL("duplicate document id %lld", (long long)id);
    }
    uint64_t *doc_tokens = xcalloc(ndocs + 1, sizeof *doc_tokens);
    for (uint32_t t = 0; t < nterms; t++) {
        uint16_t tl; uint32_t np;
        char term[BM25_MAX_TOKEN + 1];
        if (get_u16(&r, &tl) || tl == 0 || tl > BM25_MAX_TOKEN || get_bytes(&r, term, tl)) {
            free(doc_tokens); FAIL("bad term entry %u", t);
        }
        if (memchr(term, 0, tl)) { free(doc_tokens); FAIL("NUL byte in term %u", t); }
        if (bm25_term_find(ix, term, tl) >= 0) { free(doc_tokens); FAIL("duplicate term"); }
        if (get_u32(&r, &np) || np == 0 || (uint64_t)np * 8 > r.left) { free(doc_tokens); FAIL("bad posting count"); }
        uint32_t tid = bm25_term_insert(ix, term, tl);   /* may move ix->terms */
        bm25_term_t *bt = &ix->terms[tid];
        bt->post = xmalloc((size_t)np * sizeof *bt->post);
        bt->cap = np;
        for (uint32_t p = 0; p < np; p++) {
            uint32_t doc, tf;
            get_u32(&r, &doc); get_u32(&r, &tf);
            if (doc >= ndocs || tf == 0 || (p > 0 && doc <= bt->post[p - 1].doc)) {
                free(doc_tokens); FAIL("bad posting in term %u", t);
            }
            bt->post[bt->npost++] = (bm25_posting_t){ doc, tf };
            doc_tokens[doc] += tf;
        }
    }
    /* A document's length is the sum of its term frequencies; a mismatch means a file
     * written by something else (or tampered with), which would skew every score. */
    for (uint32_t i = 0; i < ndocs; i++)
        if (doc_tokens[i] != ix->docs[i].len) { free(doc_tokens); FAIL("document %u length mismatch", i); }
    free(doc_tokens);
    if (r.left != 0) FAIL("%zu trailing bytes", r.left);
    return ix;
}

bm25_t *bm25_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)); return NULL; }
    buf_t b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&b, chunk, n);
    fclose(f);
    bm25_t *ix = bm25_load_mem((const uint8_t *)b.data, b.len, err, errlen);
    buf_free(&b);
    return ix;
}
