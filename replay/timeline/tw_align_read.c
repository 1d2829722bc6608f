/* Chunked, cleaned reading of one stream (see tw_align_int.h). */
#include <stdlib.h>
#include <string.h>

#include "tw_align_int.h"

int tw_align_reader_init(tw_align_reader *r, const tw_align_source *src, void *ctx, size_t si,
                         size_t elems, int latency_mode, const tw_clock_model *clock, size_t chunk,
                         char *msg, size_t msgsz)
{
    memset(r, 0, sizeof *r);
    r->src = src;
    r->ctx = ctx;
    r->si = si;
    r->latency_mode = latency_mode;
    r->elems = latency_mode ? 1 : elems;
    r->clock = clock;
    r->cap = chunk + 2; /* room for the rows kept across a refill */
    r->total = src->nsamples(ctx, si);
    r->t = malloc(r->cap * sizeof *r->t);
    r->t_src = malloc(r->cap * sizeof *r->t_src);
    r->t_recv = malloc(r->cap * sizeof *r->t_recv);
    r->seq = malloc(r->cap * sizeof *r->seq);
    r->data = malloc(r->cap * (r->elems ? r->elems : 1) * sizeof *r->data);
    if (!r->t || !r->t_src || !r->t_recv || !r->seq || !r->data) {
        tw_align_reader_free(r);
        return tw_errf(msg, msgsz, TW_ENOMEM, "alignment reader: out of memory (%zu rows)", r->cap);
    }
    return 0;
}

void tw_align_reader_free(tw_align_reader *r)
{
    if (!r)
        return;
    free(r->t);
    free(r->t_src);
    free(r->t_recv);
    free(r->seq);
    free(r->data);
    r->t = r->t_src = r->t_recv = NULL;
    r->seq = NULL;
    r->data = NULL;
}

static void drop_front(tw_align_reader *r, size_t keep)
{
    if (keep > r->n)
        keep = r->n;
    size_t d = r->n - keep;
    if (d == 0)
        return;
    memmove(r->t, r->t + d, keep * sizeof *r->t);
    memmove(r->t_src, r->t_src + d, keep * sizeof *r->t_src);
    memmove(r->seq, r->seq + d, keep * sizeof *r->seq);
    memmove(r->data, r->data + d * r->elems, keep * r->elems * sizeof *r->data);
    r->n = keep;
}

int tw_align_reader_fill(tw_align_reader *r, size_t keep, char *msg, size_t msgsz)
{
    drop_front(r, keep);
    size_t added = 0;
    while (added == 0 && r->next < r->total) {
        size_t room = r->cap - r->n;
        uint64_t cnt = r->total - r->next < room ? r->total - r->next : room;
        size_t b = r->n;
        double *dst = r->data + b * r->elems;
        /* receive times only where the latency needs them: one column less to decompress */
        int lat = r->latency_mode == TW_ALIGN_READ_LATENCY;
        int rc = r->src->read(r->ctx, r->si, r->next, cnt, r->t_src + b, lat ? r->t_recv + b : NULL, r->seq + b,
                              r->latency_mode ? NULL : dst, msg, msgsz);
        if (rc < 0)
            return rc;
        if (lat)
            for (uint64_t i = 0; i < cnt; i++)
                dst[i] = (double)(r->t_recv[b + i] - r->t_src[b + i]);
        else if (r->latency_mode == TW_ALIGN_READ_TIMES)
            memset(dst, 0, cnt * sizeof *dst);
        r->next += cnt;
        added = tw_align_clean(r->t_src + b, r->seq + b, dst, r->elems, cnt, &r->last_t,
                               &r->last_seq, &r->have_last, &r->duplicates, &r->out_of_order);
        for (size_t i = b; i < b + added; i++)
            r->t[i] = tw_clock_to_server(r->clock, r->t_src[i]);
        r->n += added;
    }
    return (int)added;
}
