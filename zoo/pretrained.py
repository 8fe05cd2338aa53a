"""Pretrained weights: where they come from and how images must be prepared for them."""
from __future__ import annotations


class WeightsUnavailable(RuntimeError):
    """Raised when a model's weights are not on this machine and cannot be fetched."""


def load_pretrained(name: str):
    raise WeightsUnavailable(f"no pretrained weights are known for {name!r}")
