/* kb.c (store) — knowledge-base documents, chunks and their vectors (see store/kb.h).
 * A document is replaced as a whole inside one transaction: readers never see a document
 * with half its chunks. */
#include "store/kb.h"
#include "store/internal.h"
#include "core/timeutil.h"
#include <stdlib.h>
#include <string.h>

#define KB_COLLECTION "kb"

static int delete_doc(db_conn_t *c, const char *source, int64_t *deleted)
{
    db_value_t p[] = {db_text(source)};
    int rc = db_exec(c, "DELETE FROM vectors WHERE collection = 'kb' AND item_id IN"
                        " (SELECT k.id FROM kb_chunks k JOIN kb_documents d ON d.id = k.document_id"
                        " WHERE d.source = $1)", p, 1, NULL);
    if (rc == DB_OK)
        rc = db_exec(c, "DELETE FROM kb_chunks WHERE document_id IN"
                        " (SELECT id FROM kb_documents WHERE source = $1)", p, 1, NULL);
    if (rc == DB_OK) rc = db_exec(c, "DELETE FROM kb_documents WHERE source = $1", p, 1, deleted);
    return rc;
}

int store_kb_put(store_t *st, const store_kb_doc_t *doc, const store_kb_chunk_t *chunks, size_t n,
                 int64_t *ids_out)
{
    db_conn_t *c = db_acquire(store_pool(st));
    if (!c) return STORE_ERROR;
    int rc = db_begin(c);
    if (rc == DB_OK) rc = delete_doc(c, doc->source, NULL);
    int64_t doc_id = 0;
    if (rc == DB_OK) {
        db_value_t p[] = {db_text(doc->source), db_text(doc->title), db_text(doc->topic),
                          db_text(doc->sha256), db_int(time_now_us())};
        rc = db_query_int64(c, "INSERT INTO kb_documents (source, title, topic, content_sha256, created_at)"
                               " VALUES ($1, $2, $3, $4, $5) RETURNING id", p, 5, &doc_id);
    }
    for (size_t i = 0; rc == DB_OK && i < n; i++) {
        json_t *meta = json_pack("{s:s, s:s, s:I}", "heading", chunks[i].heading ? chunks[i].heading : "",
                                 "doc_level", doc->level ? doc->level : "", "doc_bytes", (json_int_t)doc->bytes);
        char *m = json_dumps(meta, JSON_COMPACT);
        json_decref(meta);
        db_value_t p[] = {db_int(doc_id), db_int((int64_t)i), db_text(chunks[i].text), db_text(m)};
        rc = db_query_int64(c, "INSERT INTO kb_chunks (document_id, ordinal, text, metadata)"
                               " VALUES ($1, $2, $3, $4) RETURNING id", p, 4, &ids_out[i]);
        free(m);
        if (rc == DB_OK && chunks[i].vec && chunks[i].dim > 0) {
            db_value_t v[] = {db_int(ids_out[i]), db_int(chunks[i].dim),
                              db_blob(chunks[i].vec, (size_t)chunks[i].dim * sizeof(float))};
            rc = db_exec(c, "INSERT INTO vectors (collection, item_id, dim, data) VALUES ('kb', $1, $2, $3)",
                         v, 3, NULL);
        }
    }
    if (rc == DB_OK) rc = db_commit(c);
    else db_rollback(c);
    db_release(c);
    return rc == DB_OK ? STORE_OK : (rc == DB_CONFLICT ? STORE_CONFLICT : STORE_ERROR);
}

int store_kb_delete(store_t *st, const char *source)
{
    db_conn_t *c = db_acquire(store_pool(st));
    if (!c) return STORE_ERROR;
    int64_t deleted = 0;
    int rc = db_begin(c);
    if (rc == DB_OK) rc = delete_doc(c, source, &deleted);
    if (rc == DB_OK) rc = db_commit(c);
    else db_rollback(c);
    db_release(c);
    if (rc != DB_OK) return STORE_ERROR;
    return deleted ? STORE_OK : STORE_NOT_FOUND;
}

int store_kb_load(store_t *st, store_kb_doc_fn on_doc, store_kb_chunk_fn on_chunk, void *ud)
{
    db_conn_t *c = db_acquire(store_pool(st));
    if (!c) return STORE_ERROR;
    db_result_t *docs = NULL, *ch = NULL;
    /* One consistent snapshot across both reads. */
    int rc = db_begin(c);
    if (rc == DB_OK)
        rc = db_query(c, "SELECT id, source, title, topic, content_sha256, created_at FROM kb_documents"
                         " ORDER BY source", NULL, 0, &docs);
    if (rc == DB_OK)
        rc = db_query(c, "SELECT k.document_id, k.id, k.text, k.metadata, v.dim, v.data FROM kb_chunks k"
                         " LEFT JOIN vectors v ON v.collection = 'kb' AND v.item_id = k.id"
                         " ORDER BY k.document_id, k.ordinal", NULL, 0, &ch);
    db_rollback(c);
    db_release(c);
    if (rc != DB_OK) { db_result_free(docs); db_result_free(ch); return STORE_ERROR; }
    int nch = db_rows(ch);
    for (int d = 0; d < db_rows(docs); d++) {
        int64_t doc_id = db_get_int64(docs, d, 0);
        /* Chunks are ordered by document id; find this document's run. */
        int lo = 0, hi = nch;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (db_get_int64(ch, mid, 0) < doc_id) lo = mid + 1;
            else hi = mid;
        }
        const char *meta0 = lo < nch && db_get_int64(ch, lo, 0) == doc_id ? db_get_text(ch, lo, 3) : NULL;
        json_t *m0 = meta0 ? json_loads(meta0, 0, NULL) : NULL;
        const char *t = db_get_text(docs, d, 2), *tp = db_get_text(docs, d, 3), *sha = db_get_text(docs, d, 4);
        const char *lvl = json_string_value(json_object_get(m0, "doc_level"));
        store_kb_doc_t doc = { db_get_text(docs, d, 1), t ? t : "", tp ? tp : "", lvl ? lvl : "", sha ? sha : "",
                               (size_t)json_integer_value(json_object_get(m0, "doc_bytes")), db_get_int64(docs, d, 5) };
        on_doc(ud, &doc);
        json_decref(m0);
        for (int i = lo; i < nch && db_get_int64(ch, i, 0) == doc_id; i++) {
            json_t *m = json_loads(db_get_text(ch, i, 3) ? db_get_text(ch, i, 3) : "{}", 0, NULL);
            const char *h = json_string_value(json_object_get(m, "heading"));
            size_t vlen = 0;
            const void *v = db_isnull(ch, i, 5) ? NULL : db_get_blob(ch, i, 5, &vlen);
            int dim = (int)db_get_int64(ch, i, 4);
            store_kb_chunk_t chunk = { h ? h : "", db_get_text(ch, i, 2) ? db_get_text(ch, i, 2) : "", NULL, 0 };
            float *vec = NULL;
            if (v && dim > 0 && vlen == (size_t)dim * sizeof(float)) {
                vec = malloc(vlen);              /* the blob may not be float-aligned */
                if (vec) { memcpy(vec, v, vlen); chunk.vec = vec; chunk.dim = dim; }
            }
            on_chunk(ud, db_get_int64(ch, i, 1), &chunk);
            free(vec);
            json_decref(m);
        }
    }
    db_result_free(docs);
    db_result_free(ch);
    return STORE_OK;
}

int store_kb_signature(store_t *st, int64_t *ndocs, int64_t *max_id)
{
    db_result_t *r;
    int rc = db_pool_query(store_pool(st), "SELECT count(*), COALESCE(max(id), 0) FROM kb_documents", NULL, 0, &r);
    if (rc != DB_OK) return STORE_ERROR;
    *ndocs = db_get_int64(r, 0, 0);
    *max_id = db_get_int64(r, 0, 1);
    db_result_free(r);
    return STORE_OK;
}

int store_kb_put_vector(store_t *st, int64_t chunk_id, const float *vec, int dim)
{
    db_value_t p[] = {db_int(chunk_id), db_int(dim), db_blob(vec, (size_t)dim * sizeof(float))};
    int rc = db_pool_exec(store_pool(st),
        "INSERT INTO vectors (collection, item_id, dim, data) VALUES ('kb', $1, $2, $3)"
        " ON CONFLICT (collection, item_id) DO UPDATE SET dim = excluded.dim, data = excluded.data", p, 3, NULL);
    return rc == DB_OK ? STORE_OK : STORE_ERROR;
}
