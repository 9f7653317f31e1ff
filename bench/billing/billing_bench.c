/* billing_bench.c — cost of the plan/quota check and webhook throughput on the SQLite store,
 * measured in-process (no HTTP): what a request pays on top of its own work.
 *   quota_us     billing_quota_consume() for a limited quota (users.plan read + UPSERT)
 *   unlimited_us the same for a quota the plan leaves unlimited (plan read only)
 *   webhook/s    billing_webhook_handle(): signature check, JSON parse, event record and a
 *                guarded subscription update, one transaction per event
 * Usage: billing_bench <dir> <quota iterations> <webhook events>  (prints one line per figure) */
#include "billing/plans.h"
#include "billing/quota.h"
#include "billing/signature.h"
#include "billing/webhook.h"
#include "store/billing.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timeutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s DIR QUOTA_ITERS WEBHOOK_EVENTS\n", argv[0]);
        return 2;
    }
    log_set_level(LOG_ERROR);
    const char *dir = argv[1];
    int iters = atoi(argv[2]), nevents = atoi(argv[3]);
    char err[256];
    store_t *st = store_open(NULL, dir, 4, err, sizeof err);
    if (!st || store_migrate(st, err, sizeof err) < 1) {
        fprintf(stderr, "store: %s\n", err);
        return 1;
    }
    /* a Pro user (limited chat quota large enough never to deny) and a Premium one */
    store_new_user_t u = {.email = "bench-pro@example.com"};
    int64_t pro_uid, prem_uid;
    if (store_user_create(st, &u, &pro_uid) != STORE_OK) return 1;
    u.email = "bench-premium@example.com";
    if (store_user_create(st, &u, &prem_uid) != STORE_OK) return 1;
    char *cus = NULL;
    store_billing_customer_set(st, pro_uid, "cus_bench", &cus);
    free(cus);
    store_subscription_t s = {.user_id = prem_uid, .subscription_id = "sub_prem", .customer_id = "cus_p",
                              .plan = "premium", .status = "active", .event_at_us = 1};
    store_billing_subscription_add(st, &s, NULL);
    s = (store_subscription_t){.user_id = pro_uid, .subscription_id = "sub_bench", .customer_id = "cus_bench",
                               .plan = "pro", .status = "active", .event_at_us = 1};
    store_billing_subscription_add(st, &s, NULL);

    const int batch = 500;
    int nb = iters / batch;
    double *samples = calloc((size_t)(nb > 0 ? nb : 1), sizeof *samples);
    billing_quota_info_t info;
    int64_t base = time_now_us();
    int denied = 0;
    for (int b = 0; b < nb; b++) {
        int64_t t0 = time_mono_us();
        /* a fresh day every batch keeps the count below the Pro limit, as in real use */
        int64_t now = base + (int64_t)b * 86400 * 1000000;
        for (int i = 0; i < batch && i < 150; i++)
            if (billing_quota_consume(st, pro_uid, BILLING_ACTION_CHAT_MESSAGE, now, &info) != BILLING_QUOTA_ALLOWED) denied++;
        samples[b] = (double)(time_mono_us() - t0) / (batch < 150 ? batch : 150);
    }
    qsort(samples, (size_t)nb, sizeof *samples, cmp_double);
    printf("quota_us %.2f (median of %d batches; %d denied)\n", samples[nb / 2], nb, denied);
    for (int b = 0; b < nb; b++) {
        int64_t t0 = time_mono_us();
        for (int i = 0; i < batch; i++)
            billing_quota_consume(st, prem_uid, BILLING_ACTION_RECOGNITION, 0, &info);
        samples[b] = (double)(time_mono_us() - t0) / batch;
    }
    qsort(samples, (size_t)nb, sizeof *samples, cmp_double);
    printf("unlimited_us %.2f\n", samples[nb / 2]);
    free(samples);

    /* webhooks: alternating subscription updates (guarded UPDATE) and payment events */
    const char *secret = "whsec_bench";
    int64_t now_s = time_now_us() / 1000000;
    char **bodies = calloc((size_t)nevents, sizeof *bodies), **hdrs = calloc((size_t)nevents, sizeof *hdrs);
    for (int i = 0; i < nevents; i++) {
        buf_t b = {0};
        if (i % 2)
            buf_printf(&b, "{\"id\":\"evt_b%d\",\"object\":\"event\",\"type\":\"customer.subscription.updated\","
                       "\"created\":%lld,\"data\":{\"object\":{\"id\":\"sub_bench\",\"object\":\"subscription\","
                       "\"customer\":\"cus_bench\",\"status\":\"active\",\"cancel_at_period_end\":false,"
                       "\"current_period_start\":%lld,\"current_period_end\":%lld,\"items\":{\"object\":\"list\","
                       "\"data\":[{\"id\":\"si_1\",\"price\":{\"id\":\"price_pro_monthly\",\"unit_amount\":1999}}]}}}}",
                       i, (long long)(now_s - nevents + i), (long long)now_s, (long long)now_s + 2592000);
        else
            buf_printf(&b, "{\"id\":\"evt_b%d\",\"object\":\"event\",\"type\":\"payment_intent.succeeded\","
                       "\"created\":%lld,\"data\":{\"object\":{\"id\":\"pi_b%d\",\"object\":\"payment_intent\","
                       "\"amount\":1999,\"currency\":\"usd\",\"status\":\"succeeded\"}}}",
                       i, (long long)now_s, i);
        bodies[i] = buf_steal(&b);
        hdrs[i] = billing_signature_header(secret, now_s, bodies[i], strlen(bodies[i]));
    }
    const billing_plans_t *plans = billing_plans();
    int64_t t0 = time_mono_us();
    int bad = 0;
    for (int i = 0; i < nevents; i++) {
        billing_webhook_result_t r;
        billing_webhook_handle(st, plans, secret, hdrs[i], bodies[i], strlen(bodies[i]), now_s, 0, &r);
        if (r.status != 200) bad++;
        json_decref(r.body);
    }
    double secs = (double)(time_mono_us() - t0) / 1e6;
    printf("webhooks_per_s %.0f (%d events, %d not 200)\n", nevents / secs, nevents, bad);
    t0 = time_mono_us();
    for (int i = 0; i < nevents; i++) {     /* redeliveries: verified, recognised, no effect */
        billing_webhook_result_t r;
        billing_webhook_handle(st, plans, secret, hdrs[i], bodies[i], strlen(bodies[i]), now_s, 0, &r);
        json_decref(r.body);
    }
    secs = (double)(time_mono_us() - t0) / 1e6;
    printf("duplicates_per_s %.0f\n", nevents / secs);
    for (int i = 0; i < nevents; i++) {
        free(bodies[i]);
        free(hdrs[i]);
    }
    free(bodies);
    free(hdrs);
    billing_plans_shutdown();
    store_close(st);
    return 0;
}
