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

size_t tw_fuse_count_episodes(const tw_fuse_opts *o)
{
    tw_fuse_ctx c;
    memset(&c, 0, sizeof c);
    char msg[256];
    for (size_t i = 0; i < o->nreal; i++)
        list_source(&c, o->real[i], TW_DOMAIN_REAL, msg, sizeof msg);
    for (size_t i = 0; i < o->nsim; i++)
        list_source(&c, o->sim[i], TW_DOMAIN_SIM, msg, sizeof msg);
    size_t n = c.neps;
    free(c.eps);
    return n;
}

static const char *axis_name(const tw_fuse_ctx *c, const char *raw) { return tw_map_axis(c->map, raw); }

/* Stream of a role: named by the map, else the single stream of that kind (timeline's one rule). */
static int find_role(const tw_fuse_ctx *c, const tw_episode *e, const char *dir, tw_kind kind, int *out, char *msg,
                     size_t msgsz)
{
    const tw_stream_decl *d[TW_MAX_STREAMS];
    size_t n = tw_episode_nstreams(e);
    for (size_t i = 0; i < n && i < TW_MAX_STREAMS; i++)
        d[i] = tw_episode_decl(e, i);
    char why[256];
    int rc = tw_map_find_role(c->map, d, n < TW_MAX_STREAMS ? n : TW_MAX_STREAMS, kind, out, why, sizeof why);
    return rc ? tw_errf(msg, msgsz, rc, "fuse: %s has %s", dir, why) : 0;
}

/* Fills the signature from an open episode (joint and action names after renaming). */
static int episode_sig(const tw_fuse_ctx *c, const tw_episode *e, const char *dir, tw_fuse_sig *s, int *js,
                       int *act, char *msg, size_t msgsz)
{
    int rc;
    memset(s, 0, sizeof *s);
    if ((rc = find_role(c, e, dir, TW_KIND_JOINT_STATE, js, msg, msgsz)) ||
        (rc = find_role(c, e, dir, TW_KIND_ACTION, act, msg, msgsz)))
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

/* The signature every source must offer: episode 0's (listing order), read by every rank. */
static int load_sig(tw_fuse_ctx *c, const tw_episode *e, const char *dir, char *msg, size_t msgsz)
{
    int js, act;
    snprintf(c->sig_from, sizeof c->sig_from, "%s", dir);
    int rc = episode_sig(c, e, dir, &c->sig, &js, &act, msg, msgsz);
    if (!rc && js < 0)
        rc = tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: %s has no joint_state stream", dir);
    if (!rc && act < 0)
        rc = tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: %s has no action stream", dir);
    return rc;
}

/* Pass 1 on an episode the scan has open (taken over): its valid samples, steps and timeline start. A
 * failure is kept in the episode, for pass 1 to report after the checks that come before it. */
static int count_one(tw_fuse_ctx *c, size_t j, tw_episode *e, char *msg, size_t msgsz)
{
    tw_fuse_ep *ep = &c->eps[j];
    tw_fuse_walker *w = NULL;
    char sub[1024];
    int rc = tw_fuse_walker_open(c, j, e, 1, &w, sub, sizeof sub);
    tw_fuse_sample s;
    while (!rc && (rc = tw_fuse_walker_next(w, &s, sub, sizeof sub)) == 1)
        rc = 0;
    if (!rc) {
        ep->samples = tw_fuse_walker_ordinal(w);
        ep->skipped = tw_fuse_walker_skipped(w);
        ep->steps = tw_fuse_walker_steps(w);
        ep->t0_ns = tw_fuse_walker_t0(w);
    }
    tw_fuse_walker_close(w);
    if (rc) {
        ep->count_rc = rc;
        if (!(ep->count_msg = strdup(sub)))
            return tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
    } else if (c->o.progress) {
        tw_progress_say(c->o.progress, c->o.progress_user, "fuse", 0, 0, "fuse[rank %d]: scanned %s", c->o.rank,
                        ep->dir);
    }
    return 0;
}

/* Opens one episode: id, domain check, sim params, the signature (the first episode defines it), then
 * pass 1 on it. */
static int scan_one(tw_fuse_ctx *c, size_t j, char *msg, size_t msgsz)
{
    tw_fuse_ep *ep = &c->eps[j];
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
    if (!rc && j == 0)
        rc = load_sig(c, e, ep->dir, msg, msgsz);
    tw_fuse_roles roles;
    if (!rc)
        rc = tw_fuse_resolve(c, e, ep->dir, &roles, msg, msgsz);
    if (rc) {
        tw_episode_close_reader(e);
        return rc;
    }
    return count_one(c, j, e, msg, msgsz);
}

/* A rank whose share lacks episode 0 still needs its signature. */
static int sig_only(tw_fuse_ctx *c, char *msg, size_t msgsz)
{
    tw_episode *e = NULL;
    char sub[900];
    int rc = tw_episode_open(c->eps[0].dir, &e, sub, sizeof sub);
    if (rc)
        return tw_errf(msg, msgsz, rc, "fuse: cannot read episode %s: %s", c->eps[0].dir, sub);
    rc = load_sig(c, e, c->eps[0].dir, msg, msgsz);
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
    c->H = c->o.window; /* pass 1's walkers need the window (and nothing else of setup_features) */
    size_t K = (size_t)c->o.nranks, r = (size_t)c->o.rank;
    if (!rc && r != 0)
        rc = sig_only(c, msg, msgsz);
    for (size_t j = r; j < c->neps && !rc; j += K)
        rc = scan_one(c, j, msg, msgsz);
    return rc;
}

/* ---- what the scans found, exchanged: one record per episode a rank scanned ---- */
typedef struct {
    uint64_t j, samples, skipped, steps;
    int64_t t0_ns, count_rc;
    uint32_t len_id, len_sp, len_msg; /* len_sp UINT32_MAX: no sim params */
} scan_rec;

static int put_bytes(char **buf, size_t *len, const void *p, size_t n)
{
    char *nb = realloc(*buf, *len + n);
    if (!nb)
        return -1;
    memcpy(nb + *len, p, n);
    *buf = nb;
    *len += n;
    return 0;
}

static int pack_scan(const tw_fuse_ctx *c, char **buf, size_t *len)
{
    for (size_t j = (size_t)c->o.rank; j < c->neps; j += (size_t)c->o.nranks) {
        const tw_fuse_ep *e = &c->eps[j];
        const char *msg = e->count_msg ? e->count_msg : "";
        scan_rec r = {j, e->samples, e->skipped, e->steps, e->t0_ns, e->count_rc, (uint32_t)strlen(e->id),
                      e->sim_params ? (uint32_t)strlen(e->sim_params) : UINT32_MAX, (uint32_t)strlen(msg)};
        if (put_bytes(buf, len, &r, sizeof r) || put_bytes(buf, len, e->id, r.len_id) ||
            (e->sim_params && put_bytes(buf, len, e->sim_params, r.len_sp)) || put_bytes(buf, len, msg, r.len_msg))
            return -1;
    }
    return 0;
}

/* One record into its episode (the scanning rank's own ones come back unchanged). */
static int unpack_rec(tw_fuse_ctx *c, const scan_rec *r, const char *p)
{
    tw_fuse_ep *e = &c->eps[r->j];
    snprintf(e->id, sizeof e->id, "%.*s", (int)r->len_id, p);
    p += r->len_id;
    free(e->sim_params);
    free(e->count_msg);
    e->sim_params = e->count_msg = NULL;
    if (r->len_sp != UINT32_MAX && !(e->sim_params = strndup(p, r->len_sp)))
        return -1;
    p += r->len_sp == UINT32_MAX ? 0 : r->len_sp;
    if (r->count_rc && !(e->count_msg = strndup(p, r->len_msg)))
        return -1;
    e->samples = r->samples;
    e->skipped = r->skipped;
    e->steps = r->steps;
    e->t0_ns = r->t0_ns;
    e->count_rc = (int)r->count_rc;
    return 0;
}

static int share_scans(tw_fuse_ctx *c, char *msg, size_t msgsz)
{
    char *buf = NULL, *all = NULL;
    size_t len = 0, *lens = NULL, total = 0;
    if (pack_scan(c, &buf, &len)) {
        free(buf);
        return tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
    }
    int rc = tw_mpi_allgather(buf, len, (void **)&all, &lens, msg, msgsz);
    free(buf);
    if (rc)
        return rc;
    for (int r = 0; r < c->o.nranks; r++)
        total += lens[r];
    for (size_t off = 0; !rc && off + sizeof(scan_rec) <= total;) {
        scan_rec r;
        memcpy(&r, all + off, sizeof r);
        size_t body = (size_t)r.len_id + (r.len_sp == UINT32_MAX ? 0 : r.len_sp) + r.len_msg;
        if (r.j >= c->neps || off + sizeof r + body > total)
            rc = tw_errf(msg, msgsz, TW_EMPI, "fuse: malformed scan exchange");
        else if (unpack_rec(c, &r, all + off + sizeof r))
            rc = tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
        off += sizeof r + body;
    }
    free(all);
    free(lens);
    return rc;
}

int tw_fuse_scan_share(tw_fuse_ctx *c, char *msg, size_t msgsz)
{
    int rc = c->o.nranks > 1 ? share_scans(c, msg, msgsz) : 0;
    if (rc)
        return rc;
    qsort(c->eps, c->neps, sizeof *c->eps, cmp_ep);
    /* Ids must be unique across domains too: check on an id-sorted view. */
    const tw_fuse_ep **v = malloc((c->neps ? c->neps : 1) * sizeof *v);
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
    for (size_t i = 0; i < c->neps; i++) {
        free(c->eps[i].sim_params);
        free(c->eps[i].count_msg);
    }
    free(c->eps);
    c->eps = NULL;
    c->neps = 0;
}
