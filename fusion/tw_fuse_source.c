/* fuse sources: find episode folders, read what the plan needs, and insist that every source offers
 * the same features (after --map renaming). Nothing is zero-filled: a missing feature is an error that
 * names the episode that has it and the one that lacks it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tw_fuse_int.h"

static int is_episode_dir(const char *dir)
{
    char p[4400];
    struct stat st;
    snprintf(p, sizeof p, "%s/episode.h5", dir);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_ep(tw_fuse_ctx *c, const char *dir, uint8_t domain, char *msg, size_t msgsz)
{
    tw_fuse_ep *n = realloc(c->eps, (c->neps + 1) * sizeof *n);
    if (!n)
        return tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory listing episodes");
    c->eps = n;
    tw_fuse_ep *e = &c->eps[c->neps++];
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "%s", dir);
    e->domain = domain;
    return 0;
}

/* A source is one episode folder or a folder of them (hidden and .tmp entries skipped). */
static int list_source(tw_fuse_ctx *c, const char *src, uint8_t domain, char *msg, size_t msgsz)
{
    if (is_episode_dir(src))
        return add_ep(c, src, domain, msg, msgsz);
    DIR *d = opendir(src);
    if (!d)
        return tw_errf(msg, msgsz, TW_ENOT_FOUND, "fuse: %s is neither an episode folder nor a folder of them",
                       src);
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", src, de->d_name);
        if (!is_episode_dir(p))
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        if (!nn || !(nn[n] = strdup(p))) {
            names = nn ? nn : names;
            rc = tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
            break;
        }
        names = nn;
        n++;
    }
    closedir(d);
    if (!rc && n == 0)
        rc = tw_errf(msg, msgsz, TW_ENOT_FOUND, "fuse: no episodes (folders with episode.h5) in %s", src);
    if (!rc)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            rc = add_ep(c, names[i], domain, msg, msgsz);
        free(names[i]);
    }
    free(names);
    return rc;
}

static const char *map_lookup(const json_t *map, const char *section, const char *key)
{
    return json_string_value(json_object_get(json_object_get(map, section), key));
}

static const char *axis_name(const tw_fuse_ctx *c, const char *raw)
{
    const char *m = map_lookup(c->map, "axes", raw);
    return m ? m : raw;
}

/* Stream of a role: named by the map, else the single stream of that kind. */
static int find_role(const tw_fuse_ctx *c, const tw_episode *e, const char *dir, const char *role, tw_kind kind,
                     int *out, char *msg, size_t msgsz)
{
    int by_map = -1, by_kind = -1, nkind = 0;
    for (size_t i = 0; i < tw_episode_nstreams(e); i++) {
        const tw_stream_decl *d = tw_episode_decl(e, i);
        const char *r = map_lookup(c->map, "streams", d->name);
        if (r && !strcmp(r, role))
            by_map = (int)i;
        if (d->kind == kind) {
            nkind++;
            if (by_kind < 0)
                by_kind = (int)i;
        }
    }
    if (by_map >= 0) {
        *out = by_map;
        return 0;
    }
    if (nkind > 1)
        return tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: %s has %d %s streams: name the one to use in --map "
                       "{\"streams\": {\"NAME\": \"%s\"}}", dir, nkind, tw_kind_name(kind), role);
    *out = by_kind;
    return 0;
}

/* Fills the signature from an open episode (joint and action names after renaming). */
static int episode_sig(const tw_fuse_ctx *c, const tw_episode *e, const char *dir, tw_fuse_sig *s, int *js,
                       int *act, char *msg, size_t msgsz)
{
    int rc;
    memset(s, 0, sizeof *s);
    if ((rc = find_role(c, e, dir, "joint_state", TW_KIND_JOINT_STATE, js, msg, msgsz)) ||
        (rc = find_role(c, e, dir, "action", TW_KIND_ACTION, act, msg, msgsz)))
        return rc;
    if (*js >= 0) {
        const tw_stream_decl *d = tw_episode_decl(e, (size_t)*js);
        if (d->ndim != 2 || d->shape[0] < 2 || d->shape[1] == 0 || d->shape[1] > TW_MAX_AXES)
            return tw_errf(msg, msgsz, TW_ESHAPE, "fuse: %s: stream %s is not a [3, N] joint state", dir, d->name);
        s->nj = d->shape[1];
        for (uint32_t k = 0; k < s->nj; k++)
            snprintf(s->jnames[k], TW_MAX_NAME, "%s",
                     d->naxes == s->nj ? axis_name(c, d->axes[k]) : "");
        if (d->naxes != s->nj)
            for (uint32_t k = 0; k < s->nj; k++)
                snprintf(s->jnames[k], TW_MAX_NAME, "joint%u", k);
        snprintf(s->junits, TW_MAX_NAME, "%s", d->units);
        s->joint_rate_hz = d->rate_hz;
    }
    if (*act >= 0) {
        const tw_stream_decl *d = tw_episode_decl(e, (size_t)*act);
        size_t n = tw_decl_elems(d);
        if (n == 0 || n > TW_MAX_AXES)
            return tw_errf(msg, msgsz, TW_ESHAPE, "fuse: %s: action stream %s has %zu values", dir, d->name, n);
        s->na = (uint32_t)n;
        s->na_named = d->naxes == n ? (uint32_t)n : 0;
        for (uint32_t k = 0; k < s->na_named; k++)
            snprintf(s->anames[k], TW_MAX_NAME, "%s", axis_name(c, d->axes[k]));
        snprintf(s->aunits, TW_MAX_NAME, "%s", d->units);
    }
    return 0;
}

static int index_of(const char (*names)[TW_MAX_NAME], uint32_t n, const char *x)
{
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(names[i], x))
            return (int)i;
    return -1;
}

int tw_fuse_resolve(const tw_fuse_ctx *c, const tw_episode *e, const char *dir, tw_fuse_roles *r, char *msg,
                    size_t msgsz)
{
    tw_fuse_sig s;
    int rc = episode_sig(c, e, dir, &s, &r->js, &r->act, msg, msgsz);
    if (rc)
        return rc;
    const tw_fuse_sig *g = &c->sig;
    const char *a = c->sig_from;
    if (r->js < 0)
        return tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: feature qpos/qvel (joint_state) present in %s but absent "
                       "in %s", a, dir);
    if (r->act < 0)
        return tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: feature action present in %s but absent in %s", a, dir);
    for (uint32_t k = 0; k < g->nj; k++) {
        int i = index_of(s.jnames, s.nj, g->jnames[k]);
        if (i < 0)
            return tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: joint '%s' (qpos/qvel) present in %s but absent in %s "
                           "(map names with --map {\"axes\": {...}})", g->jnames[k], a, dir);
        r->jperm[k] = (uint32_t)i;
    }
    if (s.nj != g->nj)
        return tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: %s has %u joints, %s has %u (extra joints in %s)", a, g->nj,
                       dir, s.nj, dir);
    if (s.na != g->na)
        return tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: feature action has %u values in %s but %u in %s", g->na, a,
                       s.na, dir);
    for (uint32_t k = 0; k < g->na; k++) {
        int i = (g->na_named && s.na_named) ? index_of(s.anames, s.na, g->anames[k]) : (int)k;
        if (i < 0)
            return tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: action axis '%s' present in %s but absent in %s",
                           g->anames[k], a, dir);
        r->aperm[k] = (uint32_t)i;
    }
    return 0;
}

static int cmp_ep(const void *x, const void *y)
{
    const tw_fuse_ep *a = x, *b = y;
    if (a->domain != b->domain)
        return a->domain < b->domain ? -1 : 1;
    return strcmp(a->id, b->id);
}

static int cmp_ep_id(const void *x, const void *y)
{
    return strcmp((*(const tw_fuse_ep *const *)x)->id, (*(const tw_fuse_ep *const *)y)->id);
}

/* Opens one episode: id, domain check, sim params, and the signature (the first episode defines it). */
static int scan_one(tw_fuse_ctx *c, tw_fuse_ep *ep, int first, char *msg, size_t msgsz)
{
    tw_episode *e = NULL;
    char sub[900];
    int rc = tw_episode_open(ep->dir, &e, sub, sizeof sub);
    if (rc)
        return tw_errf(msg, msgsz, rc, "fuse: cannot read episode %s: %s", ep->dir, sub);
    const tw_episode_meta *m = tw_episode_get_meta(e);
    snprintf(ep->id, sizeof ep->id, "%s", m->episode_id);
    const char *want = ep->domain == TW_DOMAIN_SIM ? "sim" : "real";
    if (!ep->id[0])
        rc = tw_errf(msg, msgsz, TW_EINTEGRITY, "fuse: episode %s has no episode_id", ep->dir);
    else if (m->domain[0] && strcmp(m->domain, want))
        rc = tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: episode %s is domain '%s' but was given with --%s", ep->dir,
                     m->domain, want);
    const char *sp = tw_episode_get_json(e, "sim_params");
    if (!rc && sp && !(ep->sim_params = strdup(sp)))
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
    if (!rc && first) {
        int js, act;
        snprintf(c->sig_from, sizeof c->sig_from, "%s", ep->dir);
        rc = episode_sig(c, e, ep->dir, &c->sig, &js, &act, msg, msgsz);
        if (!rc && js < 0)
            rc = tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: %s has no joint_state stream", ep->dir);
        if (!rc && act < 0)
            rc = tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: %s has no action stream", ep->dir);
    }
    tw_fuse_roles roles;
    if (!rc)
        rc = tw_fuse_resolve(c, e, ep->dir, &roles, msg, msgsz);
    tw_episode_close_reader(e);
    return rc;
}

int tw_fuse_scan(tw_fuse_ctx *c, char *msg, size_t msgsz)
{
    int rc = 0;
    for (size_t i = 0; i < c->o.nreal && !rc; i++)
        rc = list_source(c, c->o.real[i], TW_DOMAIN_REAL, msg, msgsz);
    for (size_t i = 0; i < c->o.nsim && !rc; i++)
        rc = list_source(c, c->o.sim[i], TW_DOMAIN_SIM, msg, msgsz);
    if (!rc && c->neps == 0)
        rc = tw_errf(msg, msgsz, TW_EINVAL, "fuse: no input: give --real and/or --sim folders");
    for (size_t i = 0; i < c->neps && !rc; i++)
        rc = scan_one(c, &c->eps[i], i == 0, msg, msgsz);
    if (rc)
        return rc;
    qsort(c->eps, c->neps, sizeof *c->eps, cmp_ep);
    /* Ids must be unique across domains too: check on an id-sorted view. */
    const tw_fuse_ep **v = malloc(c->neps * sizeof *v);
    if (!v)
        return tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
    for (size_t i = 0; i < c->neps; i++)
        v[i] = &c->eps[i];
    qsort(v, c->neps, sizeof *v, cmp_ep_id);
    for (size_t i = 0; i + 1 < c->neps && !rc; i++)
        if (!strcmp(v[i]->id, v[i + 1]->id))
            rc = tw_errf(msg, msgsz, TW_EDUP_STREAM, "fuse: episode id '%s' appears twice (%s and %s)", v[i]->id,
                         v[i]->dir, v[i + 1]->dir);
    free(v);
    return rc;
}

void tw_fuse_free_eps(tw_fuse_ctx *c)
{
    for (size_t i = 0; i < c->neps; i++)
        free(c->eps[i].sim_params);
    free(c->eps);
    c->eps = NULL;
    c->neps = 0;
}
