"""Quantization parameters and arithmetic, checked once: ONNX ``QuantizeLinear`` and
``DequantizeLinear`` for int8 and uint8 tensors with one scale and zero point.

- ``dequantize(q) = float32(int32(q) - zero_point) * scale`` in float32 (one rounding,
  ``scale`` rounded to float32 first), as onnxruntime computes ``DequantizeLinear``.
- ``quantize(x) = saturate(rint(x / scale) + zero_point)`` with ``x / scale`` in float32
  and ``rint`` rounding half to even (ONNX; TFLite rounds ties away from zero, which can
  differ only where ``x / scale`` is exactly half-way between two integers).

The scale must round to a normal positive float32 and every dequantized code must be
finite: then distinct codes have distinct values, in the same order, so a maximum over
codes is the maximum over values (ties included) and a threshold on values is one integer
cut-off on codes (``code_cutoff``), computed from the 256-entry table of every code.
"""
from __future__ import annotations

import functools
import numbers
from typing import NamedTuple

import numpy as np

INTEGER_DTYPES = (np.dtype(np.uint8), np.dtype(np.int8))
_TINY = float(np.finfo(np.float32).tiny)


class Quant(NamedTuple):
    """Checked quantization parameters of one tensor."""

    scale: np.float32
    zero_point: int
    dtype: np.dtype

    @property
    def lowest(self) -> int:
        return int(np.iinfo(self.dtype).min)

    @property
    def highest(self) -> int:
        return int(np.iinfo(self.dtype).max)


def is_quantized_dtype(dtype) -> bool:
    return np.dtype(dtype) in INTEGER_DTYPES


def quant_params(quant, name: str, dtype) -> Quant:
    """``quant`` = ``(scale, zero_point)`` for a tensor of integer ``dtype``, checked.

    Raises ``TypeError``/``ValueError`` naming ``name``.
    """
    dtype = np.dtype(dtype)
    if dtype not in INTEGER_DTYPES:
        raise TypeError("%s is for int8 or uint8 tensors, but the tensor is %s" % (name, dtype))
    if isinstance(quant, (str, bytes, np.ndarray)) or not isinstance(quant, (tuple, list)) \
            or len(quant) != 2:
        raise TypeError("%s must be a (scale, zero_point) pair, got %r" % (name, quant))
    scale, zero_point = quant
    if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, numbers.Real):
        raise TypeError("%s scale must be a real number, got %r" % (name, scale))
    scale32 = np.float32(scale)
    if not (np.isfinite(float(scale)) and float(scale32) >= _TINY):
        raise ValueError("%s scale must be a finite number > 0 that is a normal float32 "
                         "(>= %g), got %r" % (name, _TINY, scale))
    if isinstance(zero_point, (bool, np.bool_)) or not isinstance(zero_point, numbers.Integral):
        raise TypeError("%s zero_point must be an integer, got %r" % (name, zero_point))
    info = np.iinfo(dtype)
    if not info.min <= int(zero_point) <= info.max:
        raise ValueError("%s zero_point must be in [%d, %d] for %s, got %d"
                         % (name, info.min, info.max, dtype, int(zero_point)))
    params = Quant(scale32, int(zero_point), dtype)
    if not np.isfinite(dequantize_table(params)).all():
        raise ValueError("%s scale %r overflows float32 for some %s values" % (name, scale, dtype))
    return params


@functools.lru_cache(maxsize=64)  # a model's few outputs, decoded frame after frame
def dequantize_table(params: Quant) -> np.ndarray:
    """float32 (256,), read-only: the value of every code, indexed by ``code -
    params.lowest``."""
    codes = np.arange(params.lowest, params.highest + 1, dtype=np.int32)
    with np.errstate(over="ignore"):
        table = (codes - np.int32(params.zero_point)).astype(np.float32) * params.scale
    table.flags.writeable = False
    return table


def dequantize(codes: np.ndarray, params: Quant) -> np.ndarray:
    """float32 values of integer ``codes`` (any shape): ``DequantizeLinear``."""
    return dequantize_table(params)[np.asarray(codes).astype(np.intp) - params.lowest]


def code_cutoff(params: Quant, threshold: float) -> int:
    """The largest code whose float32 value is ``<= threshold`` (``params.lowest - 1``
    when there is none): for every code ``q``, ``dequantize(q) > threshold`` exactly when
    ``q > code_cutoff``. ``threshold`` is compared as a float64 with the float32 values,
    as a float32 tensor's values are compared with it."""
    not_above = np.count_nonzero(dequantize_table(params).astype(np.float64) <= threshold)
    return params.lowest - 1 + int(not_above)


def quantize(values: np.ndarray, params: Quant) -> np.ndarray:
    """float32 ``values`` to codes of ``params.dtype``: ``QuantizeLinear``."""
    scaled = np.rint(np.asarray(values, dtype=np.float32) / params.scale)
    shifted = scaled + np.float32(params.zero_point)
    return np.clip(shifted, params.lowest, params.highest).astype(params.dtype)
