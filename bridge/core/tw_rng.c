/* The one random generator: xoshiro256** seeded by splitmix64, the same sequence on every platform
 * and libc (simulation noise, randomisation, splits and weight initialisation all draw from it). */
#include <math.h>

#include "tw_core.h"

uint64_t tw_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void tw_rng_seed(tw_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = tw_splitmix64(&x);
}

void tw_rng_seed2(tw_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = stream * 0xd1b54a32d192ed03ULL;
    tw_rng_seed(r, seed ^ tw_splitmix64(&x));
}

static uint64_t tw_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t tw_rng_u64(tw_rng *r)
{
    uint64_t *s = r->s, res = tw_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = tw_rotl(s[3], 45);
    return res;
}

double tw_rng_uniform(tw_rng *r) { return (double)(tw_rng_u64(r) >> 11) * 0x1.0p-53; }

double tw_rng_normal(tw_rng *r)
{
    double u1 = 1.0 - tw_rng_uniform(r), u2 = tw_rng_uniform(r); /* u1 in (0,1]: log is finite */
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
