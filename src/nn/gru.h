/* gru.h — a GRU layer over packed sequences (GRU4Rec's recurrent unit).
 *
 * Gates in PyTorch's nn.GRU convention (weights stacked as [r ; z ; n]):
 *   r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - z) * n + z * h                          h = 0 before a sequence's first token
 *
 * Sequences are packed back to back as in attention.h: sequence s owns tokens
 * [seq_ptr[s], seq_ptr[s+1]) of every (N, ...) buffer, oldest first, and the
 * output at a token is the hidden state after reading it. Inside, the tokens
 * are re-laid time-major with sequences sorted longest first (as PyTorch's
 * pack_padded_sequence): the sequences still running at step t are then a
 * prefix of those running at t-1, so each step's recurrent product is one
 * sgemm over contiguous rows and needs no padding. The input-to-hidden part
 * is one sgemm over all tokens. */
#ifndef CLT_GRU_H
#define CLT_GRU_H

#include "nn/params.h"
#include "util/arena.h"

typedef struct Gru {
    int w_ih, w_hh, b_ih, b_hh;   /* parameter indices: (3H, I), (3H, H), (1, 3H), (1, 3H) */
    int I, H;
} Gru;

/* Activations of one forward (the last one) and backward scratch. All float
 * buffers are time-major: row k is token row_tok[k] of the packed batch. */
typedef struct GruActs {
    int max_seqs, max_len;
    int64_t max_tokens;
    /* schedule of the current batch */
    int64_t N;
    int T;                /* steps = longest sequence */
    int32_t *row_tok;     /* (max_tokens) time-major row -> packed token */
    int32_t *step_off;    /* (max_len+1) first row of each step; step t has step_off[t+1]-step_off[t] rows */
    int32_t *order;       /* (max_seqs) sequences, longest first */
    int32_t *bucket;      /* (max_len+1) counting-sort scratch */
    float *x;             /* (N, I) input */
    float *gate;          /* (N, 3H) r, z, n after their activations */
    float *hn;            /* (N, H) W_hn h_prev + b_hn */
    float *hprev;         /* (N, H) state before the step (0 at a sequence's first token) */
    float *h;             /* (N, H) state after the step */
    float *gh;            /* (max_seqs, 3H) recurrent pre-activations of one step */
    float *dh;            /* (N, H) */
    float *dgi, *dgh;     /* (N, 3H) gradients of the input / recurrent pre-activations */
    float *dx;            /* (N, I) */
} GruActs;

void gru_declare(Gru *g, ParamStore *ps, const char *prefix, int I, int H);
/* Buffers for up to max_seqs sequences of at most max_len tokens, max_tokens in all. */
void gru_plan(const Gru *g, GruActs *a, Arena *ar, int max_seqs, int max_len, int64_t max_tokens);
/* out (N, H): the hidden state after every token; x (N, I); N = seq_ptr[S].
 * Every sequence must have 1 .. max_len tokens. */
void gru_forward(const Gru *g, ParamStore *ps, GruActs *a, float *out, const float *x, const int32_t *seq_ptr, int S);
/* dout (N, H) of the last forward -> accumulates the parameter gradients and
 * dx (N, I) (dx may be NULL). */
void gru_backward(const Gru *g, ParamStore *ps, GruActs *a, float *dx, const float *dout);

#endif
