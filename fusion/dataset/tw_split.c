/* Episode-level splits (schemas/fused.md "Splits"): a seeded, id-keyed order, then counts per split.
 * Depends only on the seed, fractions and ids, never on argument order or ranks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_dataset_int.h"

const char *const tw_split_names[3] = {"train", "val", "test"};

uint64_t tw_fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

typedef struct {
    uint64_t key;
    const char *id;
    size_t idx;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return strcmp(x->id, y->id);
}

void tw_split_order(const char *const *ids, size_t n, uint64_t seed, size_t *order)
{
    keyed *k = malloc((n ? n : 1) * sizeof *k);
    if (!k) { /* fall back to input order; callers sort ids first, so still deterministic */
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t x = seed ^ tw_fnv1a64(ids[i]);
        k[i] = (keyed){tw_splitmix64(&x), ids[i], i};
    }
    qsort(k, n, sizeof *k, cmp_keyed);
    for (size_t i = 0; i < n; i++)
        order[i] = k[i].idx;
    free(k);
}

int tw_split_assign(const char *const *ids, size_t n, const double frac[3], uint64_t seed, uint8_t *split)
{
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return TW_ENOMEM;
    tw_split_order(ids, n, seed, order);
    size_t cnt[3] = {0, 0, 0};
    size_t left = n;
    /* Test first, then val: each fraction > 0 gets at least one episode while train keeps one. */
    for (int s = TW_SPLIT_TEST; s >= TW_SPLIT_VAL; s--) {
        size_t c = (size_t)llround((double)n * frac[s]);
        if (frac[s] > 0 && c == 0)
            c = 1;
        if (c + 1 > left)
            c = left > 1 ? left - 1 : 0;
        cnt[s] = c;
        left -= c;
    }
    cnt[TW_SPLIT_TRAIN] = left;
    size_t i = 0;
    for (int s = TW_SPLIT_TEST; s >= TW_SPLIT_TRAIN; s--)
        for (size_t c = 0; c < cnt[s]; c++)
            split[order[i++]] = (uint8_t)s;
    free(order);
    return 0;
}
