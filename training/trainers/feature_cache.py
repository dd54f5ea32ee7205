"""A pool of training crops with their frozen-encoder features, refreshed a chunk at a time.

The feature-recon encoder is frozen, so encoding every batch anew spends most of the CPU
on a network that never changes. Instead a pool of `size` crops (uint8) and their
features (float16) is kept; each step draws its batch from the pool, and every
`refresh_every` steps one of `chunks` chunks is replaced by fresh crops. A crop is so
used ~ batch * refresh_every * chunks / size times before it is replaced.

Deterministic and resumable: chunk k's content is a function of (seed, k, the block it
was last drawn in), so a run resumed at step s rebuilds exactly the pool it had. The pool lives on the
device of the crops the sampler makes (the training device).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

CropSampler = Callable[[torch.Generator, int], torch.Tensor]  # (g, n) -> (n, 3, S, S) float32 in [0, 1]


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
        device: torch.device | str = "cpu",
    ) -> None:
        if size % chunks:
            raise ValueError(f"pool size {size} must be a multiple of chunks {chunks}")
        self.sample_crops, self.encode = sample_crops, encode
        self.size, self.chunks, self.refresh_every, self.seed = size, chunks, refresh_every, seed
        self.encode_batch, self.device = encode_batch, torch.device(device)
        self.crops: torch.Tensor | None = None  # (size, 3, S, S) uint8
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
        g = torch.Generator(device=self.device)
        g.manual_seed(
            int(np.random.SeedSequence([self.seed, 7, chunk, drawn_in]).generate_state(1, np.uint64)[0]) >> 1
        )
        # Quantised first, so the stored uint8 crop is exactly the image whose features are stored.
        crops = (self.sample_crops(g, n) * 255).round().to(torch.uint8)  # (n, 3, S, S)
        x = crops.float() / 255.0
        feats = torch.cat([self.encode(x[i : i + self.encode_batch]) for i in range(0, n, self.encode_batch)])
        if self.crops is None:
            self.crops = torch.empty((self.size, *crops.shape[1:]), dtype=torch.uint8, device=crops.device)
            self.feats = torch.empty((self.size, *feats.shape[1:]), dtype=torch.float16, device=feats.device)
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

    def batch(self, g: torch.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(features (n, C, h, w) float32, images (n, 3, S, S) float32 in [0, 1]) drawn from the pool."""
        idx = torch.randint(0, self.size, (n,), generator=g, device=g.device).to(self.crops.device)
        return self.feats[idx].float(), self.crops[idx].float() / 255.0
