/* store_bench.c — per-call cost of the hot store functions (the ones behind the API's
 * throughput targets), on SQLite by default or on DATABASE_URL. Prints one line per
 * operation: median µs/op over several rounds, and ops/s with 1 and 2 threads.
 * Build and run through bench/store/run.sh. */
#include "store/store.h"
#include "core/timeutil.h"
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static store_t *st;
static int64_t uid, sid, big_conv;
static const char *only;

typedef void (*op_fn)(int64_t i);

static void op_list20(int64_t i)
{ json_t *o; (void)i; if (store_conversation_list(st, uid, 0, 20, 0, &o) == STORE_OK) json_decref(o); else exit(1); }
static void op_get10(int64_t i)
{ json_t *o; (void)i; if (store_conversation_get(st, uid, big_conv, true, &o) == STORE_OK) json_decref(o); else exit(1); }
static void op_create(int64_t i)
{ json_t *o; (void)i; if (store_conversation_create(st, uid, "Bench chat", "gpt-4o-mini", &o) == STORE_OK) json_decref(o); else exit(1); }
static void op_message(int64_t i)
{
    store_new_message_t m = {.role = "user", .content = "How do I dally faster?", .prompt_tokens = -1,
                             .completion_tokens = -1};
    int64_t id;
    (void)i;
    if (store_message_add(st, big_conv + 1, &m, &id) != STORE_OK) exit(1);
}
static void op_search(int64_t i)
{ json_t *o; (void)i; if (store_conversation_search(st, uid, "heel loop", 20, &o) == STORE_OK) json_decref(o); else exit(1); }
static void op_principal(int64_t i)
{ bool a; (void)i; if (store_user_principal(st, uid, sid, &a, NULL) != STORE_OK) exit(1); }
static void op_user_get(int64_t i)
{ json_t *o; (void)i; if (store_user_get(st, uid, &o) == STORE_OK) json_decref(o); else exit(1); }

typedef struct { op_fn fn; int64_t n; } job_t;
static void *worker(void *p) { job_t *j = p; for (int64_t i = 0; i < j->n; i++) j->fn(i); return NULL; }

/* CPU time of this thread: on a shared, overloaded machine it moves far less than wall time. */
static int64_t cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_d(const void *a, const void *b)
{ double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

static void bench(const char *name, op_fn fn, int64_t n)
{
    if (only && !strstr(name, only)) return;
    enum { ROUNDS = 5 };
    double us[ROUNDS], cpu[ROUNDS];
    for (int64_t i = 0; i < n / 10; i++) fn(i);                 /* warm caches and statements */
    for (int r = 0; r < ROUNDS; r++) {
        int64_t t0 = time_mono_us(), c0 = cpu_us();
        for (int64_t i = 0; i < n; i++) fn(i);
        us[r] = (double)(time_mono_us() - t0) / (double)n;
        cpu[r] = (double)(cpu_us() - c0) / (double)n;
    }
    qsort(us, ROUNDS, sizeof us[0], cmp_d);
    qsort(cpu, ROUNDS, sizeof cpu[0], cmp_d);
    /* two threads, same total work */
    pthread_t th[2];
    job_t jobs[2] = {{fn, n / 2}, {fn, n / 2}};
    int64_t t0 = time_mono_us();
    for (int t = 0; t < 2; t++) pthread_create(&th[t], NULL, worker, &jobs[t]);
    for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
    double par = (double)(time_mono_us() - t0) / (double)(n / 2 * 2);
    printf("%-22s median %8.1f us/op  (min %.1f, max %.1f)  cpu %8.1f us/op  1 thread %8.0f ops/s  "
           "2 threads %8.0f ops/s\n", name, us[ROUNDS / 2], us[0], us[ROUNDS - 1], cpu[ROUNDS / 2],
           1e6 / us[ROUNDS / 2], 1e6 / par);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *url = getenv("DATABASE_URL");
    int64_t n = argc > 1 ? atoll(argv[1]) : 2000;
    only = argc > 2 ? argv[2] : NULL;
    char dir[] = "/tmp/rodeo-store-bench-XXXXXX", err[512];
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    st = store_open(url, dir, 4, err, sizeof err);
    if (!st || store_migrate(st, err, sizeof err) < 1) { fprintf(stderr, "store: %s\n", err); return 1; }
    char email[96];
    snprintf(email, sizeof email, "bench-%lld-%d@example.com", (long long)time_now_us(), getpid());
    store_new_user_t u = {.email = email, .password_hash = "$argon2id$x", .full_name = "Bench"};
    if (store_user_create(st, &u, &uid) != STORE_OK ||
        store_session_create(st, uid, email, time_now_us() + 3600000000LL, &sid) != STORE_OK) return 1;
    /* 30 conversations with 2 messages each, then the one with 10 messages, then a sink */
    for (int c = 0; c < 31; c++) {
        json_t *o;
        if (store_conversation_create(st, uid, "Roping practice", "gpt-4o-mini", &o) != STORE_OK) return 1;
        big_conv = json_integer_value(json_object_get(o, "id"));
        json_decref(o);
        for (int m = 0; m < (c == 30 ? 10 : 2); m++) {
            store_new_message_t msg = {.role = m % 2 ? "assistant" : "user",
                .content = m % 2 ? "Keep your elbow in and follow through toward the target; practice on a dummy "
                                   "until the swing is smooth, then add speed." : "How do I improve my heel loop?",
                .model = "gpt-4o-mini", .prompt_tokens = 12, .completion_tokens = 40};
            int64_t id;
            if (store_message_add(st, big_conv, &msg, &id) != STORE_OK) return 1;
        }
    }
    json_t *o;
    if (store_conversation_create(st, uid, "sink", "gpt-4o-mini", &o) != STORE_OK) return 1;
    json_decref(o);
    printf("backend %s, %lld ops per round\n", store_backend(st), (long long)n);
    bench("user_principal", op_principal, n * 2);
    bench("user_get", op_user_get, n * 2);
    bench("conversation_list_20", op_list20, n);
    bench("conversation_get_10", op_get10, n);
    bench("conversation_search", op_search, n / 4);
    bench("conversation_create", op_create, n / 2);
    bench("message_add", op_message, n / 2);
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
