"""A pool of training crops with their frozen-encoder features, refreshed a chunk at a time.

The feature-recon encoder is frozen, so encoding every batch anew spends most of the CPU
on a network that never changes. Instead a pool of `size` crops (uint8) and their
features (float16) is kept; each step draws its batch from the pool, and every
`refresh_every` steps one of `chunks` chunks is replaced by fresh crops. A crop is so
used ~ batch * refresh_every * chunks / size times before it is replaced.

Deterministic and resumable: chunk k's content is a function of (seed, k, the block it
was last drawn in), so a run resumed at step s rebuilds exactly the pool it had.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

CropSampler = Callable[[np.random.Generator, int], np.ndarray]  # (rng, n) -> (n, S, S, 3) float32


class FeaturePool:
    def __init__(
        self,
        sample_crops: CropSampler,
        encode: Callable[[torch.Tensor], torch.Tensor],
        size: int = 2048,
        chunks: int = 8,
        refresh_every: int = 100,
        seed: int = 0,
        encode_batch: int = 32,
    ) -> None:
        if size % chunks:
            raise ValueError(f"pool size {size} must be a multiple of chunks {chunks}")
        self.sample_crops, self.encode = sample_crops, encode
        self.size, self.chunks, self.refresh_every, self.seed = size, chunks, refresh_every, seed
        self.encode_batch = encode_batch
        self.crops: np.ndarray | None = None  # (size, S, S, 3) uint8
        self.feats: torch.Tensor | None = None  # (size, C, S/s, S/s) float16
        self.block = -1  # the refresh block the pool currently reflects
        self.encoded = 0  # crops encoded so far (for the steps/min report)

    def _last_drawn(self, chunk: int, block: int) -> int:
        """The block in which `chunk` was last drawn: 0 (the initial pool) or b >= 1 with (b-1) % chunks ==
        chunk."""
        if block < 1 + chunk:
            return 0
        return block - ((block - 1 - chunk) % self.chunks)

    @torch.no_grad()
    def _fill(self, chunk: int, drawn_in: int) -> None:
        n = self.size // self.chunks
        rng = np.random.default_rng([self.seed, 7, chunk, drawn_in])
        # Quantised first, so the stored uint8 crop is exactly the image whose features are stored.
        crops = np.round(self.sample_crops(rng, n) * 255).astype(np.uint8)  # (n, S, S, 3)
        x = torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 3, 1, 2))).float() / 255.0
        feats = torch.cat([self.encode(x[i : i + self.encode_batch]) for i in range(0, n, self.encode_batch)])
        if self.crops is None:
            self.crops = np.empty((self.size, *crops.shape[1:]), dtype=np.uint8)
            self.feats = torch.empty((self.size, *feats.shape[1:]), dtype=torch.float16)
        sl = slice(chunk * n, (chunk + 1) * n)
        self.crops[sl] = crops
        self.feats[sl] = feats.to(torch.float16)
        self.encoded += n

    def at_step(self, step: int) -> "FeaturePool":
        """Bring the pool to the state it has at `step` (cheap when already there)."""
        block = step // self.refresh_every
        if block == self.block:
            return self
        if self.block < 0 or block != self.block + 1:  # first use or a resume: rebuild every chunk
            for k in range(self.chunks):
                self._fill(k, self._last_drawn(k, block))
        else:  # one block on: refresh the chunk drawn in this block
            self._fill((block - 1) % self.chunks, block)
        self.block = block
        return self

    def batch(self, rng: np.random.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(features (n, C, h, w) float32, images (n, 3, S, S) float32 in [0, 1]) drawn from the pool."""
        idx = rng.integers(0, self.size, n)
        images = torch.from_numpy(self.crops[idx].transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
        return self.feats[idx].float(), images
