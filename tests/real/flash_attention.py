"""Memory-efficient attention: nested ``lax.scan`` over query and key chunks with a running
softmax, under ``jax.custom_vjp``; chunk sizes and constants are module globals.

Adapted from "Self-attention Does Not Need O(n²) Memory" (Rabe & Staats) as implemented in
AminRezaei0x443/memory-efficient-attention (``_query_chunk_attention``,
``summarize_chunk``, ``jax.checkpoint``'d chunks, a ``custom_vjp`` with recompute in the
backward pass). Sequence 16, chunks of 4, one head of 8."""

import jax
import jax.numpy as jnp

from real import Program

Q_CHUNK_SIZE = 4
K_CHUNK_SIZE = 4
EPSILON = 1e-6
MASK_VALUE = -1e9


def _query_chunk_attention(query, key, value):
    num_kv, k_features = key.shape
    query = query / jnp.sqrt(k_features)

    def summarize_chunk(query, key, value):
        attn = jnp.einsum("qd,kd->qk", query, key)
        attn = jnp.where(jnp.isfinite(attn), attn, MASK_VALUE)  # expect: baked-constant
        max_score = jax.lax.stop_gradient(jnp.max(attn, axis=-1, keepdims=True))
        exp_weights = jnp.exp(attn - max_score)
        return exp_weights @ value, exp_weights.sum(axis=-1), max_score.squeeze(-1)

    def chunk_scanner(_, chunk_idx):
        key_chunk = jax.lax.dynamic_slice(key, (chunk_idx, 0), (K_CHUNK_SIZE, k_features))  # expect: baked-constant
        value_chunk = jax.lax.dynamic_slice(value, (chunk_idx, 0), (K_CHUNK_SIZE, value.shape[-1]))
        return None, jax.checkpoint(summarize_chunk)(query, key_chunk, value_chunk)

    _, (chunk_values, chunk_weights, chunk_max) = jax.lax.scan(
        chunk_scanner, None, jnp.arange(0, num_kv, K_CHUNK_SIZE))
    global_max = jnp.max(chunk_max, axis=0, keepdims=True)
    max_diffs = jnp.exp(chunk_max - global_max)
    all_values = (chunk_values * max_diffs[..., None]).sum(axis=0)
    all_weights = (chunk_weights * max_diffs).sum(axis=0)
    return all_values / (all_weights[..., None] + EPSILON)  # expect: baked-constant


def attention_forward(query, key, value):
    num_q, features = query.shape

    def chunk_scanner(_, chunk_idx):
        query_chunk = jax.lax.dynamic_slice(query, (chunk_idx, 0), (Q_CHUNK_SIZE, features))  # expect: baked-constant
        return None, _query_chunk_attention(query_chunk, key, value)

    _, res = jax.lax.scan(chunk_scanner, None, jnp.arange(0, num_q, Q_CHUNK_SIZE))
    return res.reshape(num_q, value.shape[-1])


@jax.custom_vjp
def attention(query, key, value):
    return attention_forward(query, key, value)


def _fwd(query, key, value):
    return attention_forward(query, key, value), (query, key, value)


def _bwd(residuals, g):
    _, vjp = jax.vjp(attention_forward, *residuals)
    return vjp(g)


attention.defvjp(_fwd, _bwd)


def loss(query, key, value):
    return attention(query, key, value).sum()


def programs():
    q, k, v = jax.random.normal(jax.random.key(0), (3, 16, 8))
    return [Program("flash_attention", jax.grad(loss, argnums=(0, 1, 2)), (q, k, v),
                    groups=("forward", "backward"))]
