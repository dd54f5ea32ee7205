"""Task pipelines. Importing this package registers every zoo entry."""

from . import (
    cifar10_blocks,
    feature_recon,
    mnist_ae2d,
    mnist_denoise,
    mnist_masked,
    nca_fmnist,
)  # noqa: F401  (registration side effects)
from .base import Pipeline, RestorationResult

__all__ = ["Pipeline", "RestorationResult"]
