"""Flax Linen decoder-only TransformerLM and its train step with dropout and Optax AdamW.

Adapted from google/flax examples/lm1b/models.py (Embed, a Python loop building
``EncoderDecoder1DBlock`` layers named ``encoderdecoderblock_<k>``, LayerNorm,
MultiHeadDotProductAttention with a causal mask, MlpBlock, dropout) and train.py
(train_step: value_and_grad of the cross-entropy, the dropout rng, the optimizer update).
Six layers of width 16, vocabulary 32, sequences of 8."""

import jax
import jax.numpy as jnp
import flax.linen as nn
import optax

from real import Program


class MlpBlock(nn.Module):
    mlp_dim: int
    dropout_rate: float = 0.1

    @nn.compact
    def __call__(self, inputs, deterministic):
        x = nn.Dense(self.mlp_dim)(inputs)
        x = nn.relu(x)
        x = nn.Dropout(rate=self.dropout_rate)(x, deterministic=deterministic)
        return nn.Dense(inputs.shape[-1])(x)


class EncoderDecoder1DBlock(nn.Module):
    num_heads: int
    mlp_dim: int

    @nn.compact
    def __call__(self, inputs, decoder_mask, deterministic):
        x = nn.LayerNorm()(inputs)
        x = nn.MultiHeadDotProductAttention(num_heads=self.num_heads)(
            x, x, mask=decoder_mask, deterministic=deterministic)
        x = nn.Dropout(rate=0.1)(x, deterministic=deterministic)
        x = x + inputs
        z = nn.LayerNorm()(x)
        return x + MlpBlock(self.mlp_dim)(z, deterministic)


class Decoder(nn.Module):
    vocab_size: int
    emb_dim: int = 16
    num_layers: int = 6

    @nn.compact
    def __call__(self, tokens, deterministic):
        y = nn.Embed(self.vocab_size, self.emb_dim)(tokens)
        mask = nn.make_causal_mask(tokens)
        for lyr in range(self.num_layers):  # expect: unrolled-loop
            y = EncoderDecoder1DBlock(num_heads=2, mlp_dim=32,
                                      name=f"encoderdecoderblock_{lyr}")(y, mask, deterministic)
        y = nn.LayerNorm(name="encoderdecoder_norm")(y)
        return nn.Dense(self.vocab_size, name="logitdense")(y)


class TransformerLM(nn.Module):
    vocab_size: int

    @nn.compact
    def __call__(self, tokens, deterministic=False):
        return Decoder(self.vocab_size, name="decoder")(tokens, deterministic)


model = TransformerLM(vocab_size=32)
tx = optax.adamw(1e-3, weight_decay=0.1)


def train_step(params, opt_state, batch, dropout_rng):
    def loss_fn(params):
        logits = model.apply({"params": params}, batch, rngs={"dropout": dropout_rng})
        return optax.softmax_cross_entropy_with_integer_labels(logits, batch).mean()

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def programs():
    batch = jnp.arange(16).reshape(2, 8) % 32
    params = model.init(jax.random.key(0), batch, True)["params"]
    return [Program("lm1b_linen", train_step,
                    (params, tx.init(params), batch, jax.random.key(1)),
                    groups=("forward", "backward", "TransformerLM", "decoder",
                            "encoderdecoderblock_0", "encoderdecoderblock_5", "LayerNorm_0",
                            "MlpBlock_0", "optax"),
                    opens="encoderdecoderblock_0")]
