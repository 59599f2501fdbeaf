"""Keras model builders.

The pattern every builder follows: keyword arguments with sensible defaults, input
validation with a clear error naming the argument, and a model that starts with
``keras.Input`` (so its summary and parameter count are known before training).
Keras is imported inside the functions, so ``import course_utils`` stays light.
"""
from __future__ import annotations

from typing import Sequence

__all__ = ["mlp", "ACTIVATIONS"]

ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear", "elu", "gelu", "selu", "leaky_relu",
               "softmax", "swish", "softplus")


def _positive_int(name, v):
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{name} must be a positive int, got {v!r}")


def _check_activation(name, act):
    if act is None:
        return
    if callable(act):
        return
    if not isinstance(act, str) or act not in ACTIVATIONS:
        raise ValueError(f"{name} must be None, a callable or one of {ACTIVATIONS}, got {act!r}")


def mlp(input_shape: int | Sequence[int], hidden: Sequence[int] = (64,), outputs: int = 1,
        activation: str = "relu", output_activation: str | None = None, dropout: float = 0.0,
        l2: float = 0.0, l1: float = 0.0, batchnorm: bool = False,
        kernel_initializer: str = "glorot_uniform", name: str = "mlp"):
    """A multi-layer perceptron: ``Input → [Flatten] → Dense(h) x len(hidden) → Dense(outputs)``.

    Parameters
    ----------
    input_shape : int or tuple
        Shape of one sample, e.g. ``4`` for iris or ``(28, 28)`` for MNIST (then a
        ``Flatten`` layer is added: it only reshapes, it has no weights and no memory).
    hidden : sequence of int
        Units of each hidden layer; ``()`` gives a linear/logistic model.
    outputs : int
        Units of the output layer (1 for regression or binary, k for k classes).
    activation : str
        Hidden-layer activation.
    output_activation : str or None
        ``None``/"linear" for regression or logits, "sigmoid" for binary, "softmax" for
        multiclass probabilities.
    dropout : float in [0, 1)
        Dropout rate after each hidden layer (the share of units dropped, not kept).
    l1, l2 : float >= 0
        Weight penalties on every Dense kernel.
    batchnorm : bool
        BatchNormalization after each hidden Dense (before its activation).

    Returns
    -------
    keras.Model (Sequential); call ``.compile`` before ``.fit``.
    """
    import keras

    shape = (input_shape,) if isinstance(input_shape, int) and not isinstance(input_shape, bool) \
        else tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(f"input_shape must be a positive int or a tuple of them, got {input_shape!r}")
    if isinstance(hidden, int) or not all(isinstance(h, int) and not isinstance(h, bool) and h > 0
                                          for h in hidden):
        raise ValueError(f"hidden must be a sequence of positive ints like (64, 32), got {hidden!r}")
    _positive_int("outputs", outputs)
    _check_activation("activation", activation)
    _check_activation("output_activation", output_activation)
    if not (isinstance(dropout, (int, float)) and 0.0 <= dropout < 1.0):
        raise ValueError(f"dropout must be a rate in [0, 1) (share of units dropped), got {dropout!r}")
    for nm, v in (("l1", l1), ("l2", l2)):
        if not (isinstance(v, (int, float)) and v >= 0):
            raise ValueError(f"{nm} must be a number >= 0, got {v!r}")

    reg = keras.regularizers.L1L2(l1=float(l1), l2=float(l2)) if (l1 or l2) else None
    layers = [keras.Input(shape=shape)]
    if len(shape) > 1:
        layers.append(keras.layers.Flatten())
    for i, units in enumerate(hidden):
        layers.append(keras.layers.Dense(units, activation=None if batchnorm else activation,
                                         kernel_regularizer=reg, kernel_initializer=kernel_initializer,
                                         name=f"hidden_{i + 1}"))
        if batchnorm:
            layers.append(keras.layers.BatchNormalization(name=f"bn_{i + 1}"))
            layers.append(keras.layers.Activation(activation, name=f"act_{i + 1}"))
        if dropout:
            layers.append(keras.layers.Dropout(dropout, name=f"dropout_{i + 1}"))
    layers.append(keras.layers.Dense(outputs, activation=output_activation, kernel_regularizer=reg,
                                     kernel_initializer=kernel_initializer, name="output"))
    return keras.Sequential(layers, name=name)
