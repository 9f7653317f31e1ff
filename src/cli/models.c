/* models.c — `rodeo models list|pull|verify`: the model weight files under RODEO_MODEL_DIR.
 * pull fetches a Hugging Face repository's files (resume, SHA-256, progress bar: see
 * ml/hub.h); verify re-hashes against the manifest and loads the model to prove it works. */
#include "cli/cli.h"
#include "core/buf.h"
#include "core/config.h"
#include "ml/clip.h"
#include "ml/hub.h"
#include "ml/vit.h"
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const clip_files[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt", NULL};
static const char *const vit_files[] = {"config.json", "model.safetensors", NULL};

static void usage(FILE *out)
{
    fprintf(out,
        "usage: rodeo models list\n"
        "       rodeo models pull [REPO] [--revision REV] [--name DIR] [--files a,b,...]\n"
        "       rodeo models verify [NAME|PATH]\n\n"
        "  REPO defaults to openai/clip-vit-base-patch32; files go to $RODEO_MODEL_DIR/<name>\n"
        "  (default ./models/<repo base name>) from $HF_ENDPOINT (default %s).\n"
        "  CLIP repositories fetch config.json, model.safetensors, vocab.json, merges.txt;\n"
        "  others (ViT classifiers) config.json and model.safetensors.\n", HUB_DEFAULT_ENDPOINT);
}

/* "clip" or "vit" from config.json's model_type / architectures; NULL when unreadable. */
static const char *model_kind(const char *dir, char *err, size_t errlen)
{
    buf_t p = {0};
    buf_printf(&p, "%s/config.json", dir);
    json_error_t jerr;
    json_t *cfg = json_load_file(p.data, 0, &jerr);
    buf_free(&p);
    if (!cfg) { snprintf(err, errlen, "config.json: %s", jerr.text); return NULL; }
    const char *kind = "clip";
    json_t *arch = json_array_get(json_object_get(cfg, "architectures"), 0);
    const char *mt = json_string_value(json_object_get(cfg, "model_type"));
    if ((json_is_string(arch) && strstr(json_string_value(arch), "ViT")) || (mt && !strcmp(mt, "vit")))
        kind = "vit";
    json_decref(cfg);
    return kind;
}

static int resolve_dir(const char *arg, buf_t *out)
{
    struct stat st;
    if (strchr(arg, '/') && stat(arg, &st) == 0) { buf_puts(out, arg); return 0; }
    buf_printf(out, "%s/%s", g_config.model_dir, arg);
    return 0;
}

static int cmd_list(void)
{
    DIR *d = opendir(g_config.model_dir);
    printf("model directory: %s\n", g_config.model_dir);
    if (!d) { printf("  (missing: run `rodeo models pull`)\n"); return 0; }
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        buf_t dir = {0}, st = {0};
        buf_printf(&dir, "%s/%s", g_config.model_dir, e->d_name);
        buf_printf(&st, "%s/model.safetensors", dir.data);
        struct stat s;
        if (stat(dir.data, &s) != 0 || !S_ISDIR(s.st_mode)) { buf_free(&dir); buf_free(&st); continue; }
        char err[256];
        const char *kind = model_kind(dir.data, err, sizeof err);
        if (stat(st.data, &s) == 0)
            printf("  %-32s %-5s %8.1f MB\n", e->d_name, kind ? kind : "?", s.st_size / 1e6);
        else
            printf("  %-32s %-5s incomplete (no model.safetensors)\n", e->d_name, kind ? kind : "?");
        n++;
        buf_free(&dir);
        buf_free(&st);
    }
    closedir(d);
    if (!n) printf("  (no models: run `rodeo models pull`)\n");
    return 0;
}

static int cmd_pull(int argc, char **argv)
{
    const char *repo = "openai/clip-vit-base-patch32", *rev = NULL, *name = NULL, *files_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--revision") && i + 1 < argc) rev = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
        else if (!strcmp(argv[i], "--files") && i + 1 < argc) files_arg = argv[++i];
        else if (argv[i][0] != '-') repo = argv[i];
        else { usage(stderr); return 2; }
    }
    if (!name) { const char *s = strrchr(repo, '/'); name = s ? s + 1 : repo; }
    if (!*name || strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, ".")) {
        fprintf(stderr, "rodeo models: bad model name '%s'\n", name);
        return 2;
    }
    const char *const *files = strstr(repo, "clip") ? clip_files : vit_files;
    char *list = NULL;
    const char **custom = NULL;
    if (files_arg) {
        list = xstrdup(files_arg);
        int n = 0;
        custom = xcalloc(strlen(list) + 2, sizeof *custom);
        for (char *s = strtok(list, ","); s; s = strtok(NULL, ",")) custom[n++] = s;
        files = custom;
    }
    buf_t dest = {0};
    buf_printf(&dest, "%s/%s", g_config.model_dir, name);
    hub_pull_opts_t o = {.repo = repo, .revision = rev, .dest = dest.data,
                         .progress = isatty(2) || getenv("RODEO_PROGRESS") ? stderr : NULL};
    char err[512];
    fprintf(stderr, "pulling %s into %s\n", repo, dest.data);
    int rc = hub_pull(&o, files, err, sizeof err);
    if (rc != 0) fprintf(stderr, "rodeo models: %s\n", err);
    else printf("ok: %s\n", dest.data);
    free(custom);
    free(list);
    buf_free(&dest);
    return rc ? 1 : 0;
}

static int cmd_verify(int argc, char **argv)
{
    const char *arg = argc > 1 ? argv[1] : "clip-vit-base-patch32";
    buf_t dir = {0};
    resolve_dir(arg, &dir);
    char err[512];
    printf("%s\n", dir.data);
    int bad = hub_verify(dir.data, stdout, err, sizeof err);
    if (bad < 0) { printf("  no manifest: %s\n", err); bad = 0; }
    const char *kind = model_kind(dir.data, err, sizeof err);
    int load_ok = 0;
    if (kind && !strcmp(kind, "vit")) {
        vit_model_t *m = vit_load(dir.data, 0, err, sizeof err);
        if (m) { printf("  loads as ViT classifier: %d labels, %dx%d input\n", vit_num_labels(m), vit_image_size(m), vit_image_size(m)); load_ok = 1; }
        vit_free(m);
    } else if (kind) {
        clip_model_t *m = clip_load(dir.data, 0, err, sizeof err);
        if (m) { printf("  loads as CLIP: %d-dim embeddings, %dx%d input\n", clip_embed_dim(m), clip_image_size(m), clip_image_size(m)); load_ok = 1; }
        clip_free(m);
    }
    if (!load_ok) printf("  does not load: %s\n", err);
    buf_free(&dir);
    return bad || !load_ok ? 1 : 0;
}

int cmd_models(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) { usage(argc < 2 ? stderr : stdout); return argc < 2 ? 2 : 0; }
    if (cli_init_config() != 0) return 1;
    if (!strcmp(argv[1], "list")) return cmd_list();
    if (!strcmp(argv[1], "pull")) return cmd_pull(argc - 1, argv + 1);
    if (!strcmp(argv[1], "verify")) return cmd_verify(argc - 1, argv + 1);
    usage(stderr);
    return 2;
}
