"""A Flax NNX CNN and its ``nnx.jit`` train step, with ``nnx.Optimizer`` and metrics.

Adapted from google/flax docs_nnx/mnist_tutorial (class CNN: two convolutions, average
pooling, two Linear layers; loss_fn, train_step with nnx.value_and_grad, optimizer.update,
metrics.update). 8×8 single-channel images, batch 4."""

from functools import partial

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from real import Program


class CNN(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(1, 4, kernel_size=(3, 3), rngs=rngs)
        self.conv2 = nnx.Conv(4, 8, kernel_size=(3, 3), rngs=rngs)
        self.avg_pool = partial(nnx.avg_pool, window_shape=(2, 2), strides=(2, 2))
        self.linear1 = nnx.Linear(8 * 2 * 2, 16, rngs=rngs)
        self.linear2 = nnx.Linear(16, 10, rngs=rngs)

    def __call__(self, x):
        x = self.avg_pool(nnx.relu(self.conv1(x)))
        x = self.avg_pool(nnx.relu(self.conv2(x)))
        x = x.reshape(x.shape[0], -1)
        return self.linear2(nnx.relu(self.linear1(x)))


def loss_fn(model, batch):
    logits = model(batch["image"])
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean()
    return loss, logits


@nnx.jit
def train_step(model, optimizer, metrics, batch):
    grad_fn = nnx.value_and_grad(loss_fn, has_aux=True)
    (loss, logits), grads = grad_fn(model, batch)
    metrics.update(loss=loss, logits=logits, labels=batch["label"])
    optimizer.update(model, grads)


def programs():
    model = CNN(rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adamw(1e-3), wrt=nnx.Param)
    metrics = nnx.MultiMetric(accuracy=nnx.metrics.Accuracy(), loss=nnx.metrics.Average("loss"))
    batch = {"image": jax.random.normal(jax.random.key(0), (4, 8, 8, 1)),
             "label": jnp.arange(4) % 10}
    return [Program("nnx_mnist", train_step, (model, optimizer, metrics, batch),
                    groups=("forward", "backward", "conv1", "conv2", "linear1", "linear2",
                            "optax"), opens="conv1")]
