"""A Neural Cellular Automaton that repairs masked images (after Mordvintsev et al.,
"Growing Neural Cellular Automata", Distill 2020).

Every pixel is a cell with `channels` state values. Channel 0 is the image, channel 1
the mask of known pixels (1 = known), the rest are hidden. One step:
  1. perception: a learned 3x3 conv (C -> 2C) concatenated with the state (3C);
     learned, not identity+Sobel, because Sobel only sees differences and filling a
     hole first needs the neighbours' mean;
  2. update: a per-cell MLP as 1x1 convs (3C -> hidden -> C), last layer zero-initialised
     so the automaton starts as the identity;
  3. stochastic update in training (each cell fires with probability `fire_rate`);
  4. known pixels are clamped back to their values and the mask channel is restored.
The state is never clamped to [0,1] inside the loop, so the loss keeps its gradient.

Two optional additions for heavily masked images, both zero-initialised so that a trained
automaton loaded into them (with `--init-new`) starts out computing exactly what it did:
  - `deep_perception`: a second 3x3 conv on the ReLU of the first, added to it (a 5x5 view per
    step, so information crosses wide holes in fewer steps);
  - `ratio_embedding`: the image's fraction of missing pixels (from the mask channel) shifts the
    update MLP's hidden units, so the rule can differ between 10% and 90% missing.
"""

from __future__ import annotations

import torch
from torch import nn


class NCA(nn.Module):
    def __init__(
        self,
        channels: int = 16,
        hidden: int = 64,
        fire_rate: float = 0.5,
        deep_perception: bool = False,
        ratio_embedding: bool = False,
    ) -> None:
        super().__init__()
        self.channels = channels
        self.fire_rate = fire_rate
        self.perceive = nn.Conv2d(channels, 2 * channels, 3, padding=1, padding_mode="zeros")
        self.perceive2 = nn.Conv2d(2 * channels, 2 * channels, 3, padding=1) if deep_perception else None
        self.ratio = nn.Linear(1, hidden) if ratio_embedding else None
        self.update = nn.Sequential(
            nn.Conv2d(3 * channels, hidden, 1),
            nn.ReLU(),
            nn.Conv2d(hidden, channels, 1, bias=False),
        )
        for layer in (self.update[-1], self.perceive2, self.ratio):
            if layer is not None:  # zero: the automaton starts as the identity / as the loaded one
                nn.init.zeros_(layer.weight)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)

    def seed_state(self, damaged: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """damaged, known: (B, 1, H, W) -> initial state (B, C, H, W)."""
        b, _, h, w = damaged.shape
        hidden = damaged.new_zeros(b, self.channels - 2, h, w)
        return torch.cat([damaged * known, known, hidden], dim=1)

    def step(self, state: torch.Tensor, damaged: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """One update of every cell: state (B, C, H, W) -> (B, C, H, W)."""
        seen = self.perceive(state)  # (B, 2C, H, W)
        if self.perceive2 is not None:
            seen = seen + self.perceive2(torch.relu(seen))
        features = torch.cat([state, seen], dim=1)  # (B, 3C, H, W)
        if self.ratio is None:
            delta = self.update(features)  # (B, C, H, W)
        else:
            missing = 1 - known.mean(dim=(1, 2, 3))[:, None]  # (B, 1): fraction of pixels to fill
            hidden = self.update[0](features) + self.ratio(missing)[:, :, None, None]  # (B, hidden, H, W)
            delta = self.update[2](self.update[1](hidden))
        if self.training and self.fire_rate < 1.0:
            fire = (torch.rand_like(state[:, :1]) < self.fire_rate).to(state.dtype)
            delta = delta * fire
        state = state + delta
        image = known * damaged + (1 - known) * state[:, :1]  # clamp the known pixels
        return torch.cat([image, known, state[:, 2:]], dim=1)

    def forward(
        self, damaged: torch.Tensor, known: torch.Tensor, steps: int = 20, return_frames: bool = False
    ):
        """damaged, known: (B, 1, H, W); returns the image channel (B, 1, H, W) after `steps`
        (and, if asked, the list of image channels after every step, the first being the input)."""
        state = self.seed_state(damaged, known)
        frames = [state[:, :1]] if return_frames else None
        for _ in range(int(steps)):
            state = self.step(state, damaged, known)
            if return_frames:
                frames.append(state[:, :1])
        return (state[:, :1], frames) if return_frames else state[:, :1]

    @torch.inference_mode()
    def repair(
        self, damaged: torch.Tensor, known: torch.Tensor, steps: int = 20, batch_size: int = 32
    ) -> torch.Tensor:
        """Many images at once: damaged, known (N, 1, H, W) -> repaired (N, 1, H, W) clamped to [0,1].

        Batches of 32 in channels-last layout: measured ~2x faster per image on the CPU than
        batches of 500 (a big batch's state no longer fits in cache), same results to 1e-7.
        """
        cl = torch.channels_last
        self.to(memory_format=cl)
        out = [
            self(
                damaged[i : i + batch_size].contiguous(memory_format=cl),
                known[i : i + batch_size].contiguous(memory_format=cl),
                steps=steps,
            ).clamp(0, 1)
            for i in range(0, len(damaged), batch_size)
        ]
        return torch.cat(out).contiguous()
