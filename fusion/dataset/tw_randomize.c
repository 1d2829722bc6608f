/* Domain-randomisation spec: JSON object from parameter name to a distribution.
 *   [low, high]                                   uniform
 *   number                                        constant
 *   {"dist":"uniform","low":a,"high":b}
 *   {"dist":"loguniform","low":a,"high":b}        low > 0
 *   {"dist":"normal","mean":m,"std":s[,"low":a,"high":b]}  truncated (resampled) to [low, high]
 * Names are those of `tw rig --perturb`; anything else is an error naming the key. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_dataset.h"

const char *const tw_rand_param_names[TW_RAND_NPARAMS] = {
    "damping", "friction", "gain", "payload_kg", "latency_ms", "noise",
};

/* Valid values are whatever tw_perturb_set accepts: one definition of the domains, in replay. */
static int check_value(int p, double v, char *msg, size_t msgsz)
{
    tw_perturb scratch;
    tw_perturb_none(&scratch);
    char sub[512];
    if (tw_perturb_set(&scratch, tw_rand_param_names[p], v, sub, sizeof sub))
        return tw_errf(msg, msgsz, TW_ESCHEMA, "randomize: '%s' range reaches %g: %s", tw_rand_param_names[p],
                       v, sub);
    return 0;
}

static int param_index(const char *name)
{
    for (int i = 0; i < TW_RAND_NPARAMS; i++)
        if (!strcmp(name, tw_rand_param_names[i]))
            return i;
    return -1;
}

static int get_num(json_t *o, const char *key, double *v, int required, const char *param, char *msg,
                   size_t msgsz)
{
    json_t *x = json_object_get(o, key);
    if (!x) {
        if (required)
            return tw_errf(msg, msgsz, TW_ESCHEMA, "randomize: '%s' needs \"%s\"", param, key);
        return 0;
    }
    if (!json_is_number(x) || !isfinite(json_number_value(x)))
        return tw_errf(msg, msgsz, TW_ESCHEMA, "randomize: '%s'.%s must be a finite number", param, key);
    *v = json_number_value(x);
    return 0;
}

static int parse_object(json_t *o, int p, tw_dist *d, char *msg, size_t msgsz)
{
    const char *name = tw_rand_param_names[p];
    const char *dist = json_string_value(json_object_get(o, "dist"));
    if (!dist)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "randomize: '%s' object needs a \"dist\" string", name);
    int rc;
    if (!strcmp(dist, "uniform") || !strcmp(dist, "loguniform")) {
        d->kind = dist[0] == 'u' ? TW_DIST_UNIFORM : TW_DIST_LOGUNIFORM;
        if ((rc = get_num(o, "low", &d->a, 1, name, msg, msgsz)) ||
            (rc = get_num(o, "high", &d->b, 1, name, msg, msgsz)))
            return rc;
        if (d->kind == TW_DIST_LOGUNIFORM && d->a <= 0)
            return tw_errf(msg, msgsz, TW_ESCHEMA, "randomize: '%s' loguniform needs low > 0", name);
    } else if (!strcmp(dist, "normal")) {
        d->kind = TW_DIST_NORMAL;
        if ((rc = get_num(o, "mean", &d->a, 1, name, msg, msgsz)) ||
            (rc = get_num(o, "std", &d->b, 1, name, msg, msgsz)) ||
            (rc = get_num(o, "low", &d->lo, 0, name, msg, msgsz)) ||
            (rc = get_num(o, "high", &d->hi, 0, name, msg, msgsz)))
            return rc;
        if (d->b < 0)
            return tw_errf(msg, msgsz, TW_ESCHEMA, "randomize: '%s' std must be >= 0", name);
        if (d->a < d->lo || d->a > d->hi)
            return tw_errf(msg, msgsz, TW_ESCHEMA, "randomize: '%s' mean %g outside [%g, %g]", name, d->a,
                           d->lo, d->hi);
        return 0;
    } else {
        return tw_errf(msg, msgsz, TW_ESCHEMA,
                       "randomize: '%s' has unknown dist \"%s\" (uniform, loguniform, normal)", name, dist);
    }
    return 0;
}

static int parse_param(json_t *v, int p, tw_dist *d, char *msg, size_t msgsz)
{
    const char *name = tw_rand_param_names[p];
    d->lo = -INFINITY;
    d->hi = INFINITY;
    int rc = 0;
    if (json_is_number(v)) {
        d->kind = TW_DIST_CONST;
        d->a = d->b = json_number_value(v);
    } else if (json_is_array(v)) {
        if (json_array_size(v) != 2 || !json_is_number(json_array_get(v, 0)) ||
            !json_is_number(json_array_get(v, 1)))
            return tw_errf(msg, msgsz, TW_ESCHEMA, "randomize: '%s' range must be [low, high]", name);
        d->kind = TW_DIST_UNIFORM;
        d->a = json_number_value(json_array_get(v, 0));
        d->b = json_number_value(json_array_get(v, 1));
    } else if (json_is_object(v)) {
        if ((rc = parse_object(v, p, d, msg, msgsz)))
            return rc;
        if (d->kind == TW_DIST_NORMAL) /* resampled inside [lo, hi] ∩ the parameter's domain */
            return (rc = check_value(p, d->a, msg, msgsz)) ? rc
                 : (isfinite(d->lo) && (rc = check_value(p, d->lo, msg, msgsz))) ? rc
                 : (isfinite(d->hi) && (rc = check_value(p, d->hi, msg, msgsz))) ? rc : 0;
    } else {
        return tw_errf(msg, msgsz, TW_ESCHEMA, "randomize: '%s' must be [low, high], a number or an object",
                       name);
    }
    if (!isfinite(d->a) || !isfinite(d->b) || d->a > d->b)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "randomize: '%s' needs low <= high (got %g, %g)", name, d->a,
                       d->b);
    if ((rc = check_value(p, d->a, msg, msgsz)) || (rc = check_value(p, d->b, msg, msgsz)))
        return rc;
    return 0;
}

int tw_rand_spec_parse(const char *text, tw_rand_spec *out, char *msg, size_t msgsz)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return tw_errf(msg, msgsz, TW_EJSON, "randomize: line %d column %d: %s", je.line, je.column, je.text);
    int rc = 0;
    if (!json_is_object(root)) {
        rc = tw_errf(msg, msgsz, TW_ESCHEMA, "randomize: spec must be a JSON object of parameter -> range");
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        int p = param_index(key);
        if (p < 0 && (!strcmp(key, "clock_offset_ms") || !strcmp(key, "drift_ppm"))) {
            rc = tw_errf(msg, msgsz, TW_ESCHEMA,
                         "randomize: '%s' is a rig clock parameter; simulation has no client clock", key);
            goto done;
        }
        if (p < 0) {
            rc = tw_errf(msg, msgsz, TW_ESCHEMA,
                         "randomize: unknown parameter '%s' (known: damping, friction, gain, payload_kg, "
                         "latency_ms, noise)", key);
            goto done;
        }
        if ((rc = parse_param(v, p, &out->dist[p], msg, msgsz)))
            goto done;
        out->present[p] = 1;
    }
done:
    json_decref(root);
    return rc;
}

int tw_rand_spec_load(const char *path, tw_rand_spec *out, char *msg, size_t msgsz)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return tw_errf(msg, msgsz, TW_ENOT_FOUND, "randomize: cannot open %s", path);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int big = !feof(f);
    fclose(f);
    if (big)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "randomize: %s is larger than 64 KiB", path);
    buf[n] = 0;
    char sub[900];
    int rc = tw_rand_spec_parse(buf, out, sub, sizeof sub);
    if (rc)
        tw_errf(msg, msgsz, rc, "%s: %s", path, sub);
    return rc;
}

/* Normal draws outside the bounds or the parameter's domain are redrawn (bounded tries). */
static double draw(const tw_dist *d, int p, tw_rng *r)
{
    switch (d->kind) {
    case TW_DIST_CONST: return d->a;
    case TW_DIST_UNIFORM: return d->a + (d->b - d->a) * tw_rng_uniform(r);
    case TW_DIST_LOGUNIFORM: return exp(log(d->a) + (log(d->b) - log(d->a)) * tw_rng_uniform(r));
    case TW_DIST_NORMAL:
        for (int i = 0; i < 1000; i++) {
            double x = d->a + d->b * tw_rng_normal(r);
            if (x >= d->lo && x <= d->hi && check_value(p, x, NULL, 0) == 0)
                return x;
        }
        return d->a;
    }
    return d->a;
}

void tw_rand_draw(const tw_rand_spec *spec, uint64_t seed, uint64_t episode, tw_perturb *out)
{
    tw_perturb_none(out);
    for (int p = 0; spec && p < TW_RAND_NPARAMS; p++) {
        if (!spec->present[p])
            continue;
        /* One stream per (episode, parameter): adding a parameter never shifts the others. */
        tw_rng r;
        tw_rng_seed2(&r, seed ^ 0x52414e44u /* "RAND" */, episode * TW_RAND_NPARAMS + (uint64_t)p);
        tw_perturb_set(out, tw_rand_param_names[p], draw(&spec->dist[p], p, &r), NULL, 0);
    }
}
