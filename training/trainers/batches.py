"""Training batches in torch, drawn from a step's `torch.Generator` on the training device.

Every trainer builds its batches from these, so one run is the same code on a CPU and a GPU: the
images, masks and augmentations are made where the network runs, and a step's batch depends on the
run's seed and the step number only (`training.common.step_generator`), so a resumed run draws
exactly the batches an uninterrupted one would.

Masks are bool, True = missing: (B, H, W). Images are float32 (B, C, H, W) in [0, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


# ---------------------------------------------------------------- random numbers on the generator's device
def uniform(g: torch.Generator, lo: float, hi: float, *shape: int) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(shape, generator=g, device=g.device)


def integers(g: torch.Generator, lo, hi, *shape: int) -> torch.Tensor:
    """Integers in [lo, hi) (hi exclusive, as numpy's); `hi` may be a tensor of per-item bounds."""
    if isinstance(hi, torch.Tensor) or isinstance(lo, torch.Tensor):
        return (lo + torch.rand(shape, generator=g, device=g.device) * (hi - lo)).long()
    return torch.randint(int(lo), int(hi), shape, generator=g, device=g.device)


def coin(g: torch.Generator, p: float, *shape: int) -> torch.Tensor:
    return torch.rand(shape, generator=g, device=g.device) < p


def pick(g: torch.Generator, n_items: int, n: int) -> torch.Tensor:
    """n indices drawn uniformly with replacement from range(n_items)."""
    return torch.randint(0, n_items, (n,), generator=g, device=g.device)


# ---------------------------------------------------------------- augmentation
def random_shift(x: torch.Tensor, g: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Each image moved by up to `pad` pixels (a random crop of the zero-padded image):
    (B, C, S, S) -> (B, C, S, S)."""
    if pad <= 0:
        return x
    b, size = len(x), x.shape[-1]
    ar = torch.arange(size, device=x.device)
    dy, dx = (integers(g, 0, 2 * pad + 1, 2, b, 1) + ar).unbind(0)  # (B, S) each
    padded = F.pad(x, (pad, pad, pad, pad))  # (B, C, S+2p, S+2p)
    rows = dy[:, None, :, None].expand(-1, x.shape[1], -1, size + 2 * pad)
    out = padded.gather(2, rows)  # (B, C, S, S+2p)
    cols = dx[:, None, None, :].expand(-1, x.shape[1], size, -1)
    return out.gather(3, cols).contiguous()


def random_flip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Each image mirrored left-right with probability 1/2: (B, C, H, W)."""
    return torch.where(coin(g, 0.5, len(x), 1, 1, 1), x.flip(-1), x)


def affine_jitter(x: torch.Tensor, g: torch.Generator, rotate: float, zoom: float) -> torch.Tensor:
    """Each image rotated by up to +-`rotate` degrees and scaled by up to +-`zoom` (a fraction) about
    its centre; bilinear, zeros outside. x itself when both are 0. (B, C, H, W)."""
    if not rotate and not zoom:
        return x
    n = len(x)
    angle = torch.deg2rad(uniform(g, -rotate, rotate, n))
    scale = 1.0 / uniform(g, 1 - zoom, 1 + zoom, n)  # the grid maps output -> input
    theta = torch.zeros(n, 2, 3, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = scale * torch.cos(angle)
    theta[:, 0, 1] = -scale * torch.sin(angle)
    theta[:, 1, 0] = scale * torch.sin(angle)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_erase(x: torch.Tensor, g: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """With probability p per image, a rectangle of 2-25% of the area (aspect 0.3-3.3) set to 0."""
    b, size = len(x), x.shape[-1]
    area = uniform(g, 0.02, 0.25, b) * size * size
    aspect = uniform(g, math.log(0.3), math.log(3.3), b).exp()
    h = (area * aspect).sqrt().clamp(1, size).long()
    w = (area / aspect).sqrt().clamp(1, size).long()
    top, left = integers(g, 0, size - h + 1, b), integers(g, 0, size - w + 1, b)
    ar = torch.arange(size, device=x.device)
    rows, cols = ar[None, :, None], ar[None, None, :]
    erase = (
        (rows >= top[:, None, None])
        & (rows < (top + h)[:, None, None])
        & (cols >= left[:, None, None])
        & (cols < (left + w)[:, None, None])
        & coin(g, p, b)[:, None, None]
    )  # (B, S, S)
    return x.masked_fill(erase[:, None], 0.0)


def colour_jitter(x: torch.Tensor, g: torch.Generator, gain: float, offset: float) -> torch.Tensor:
    """Per image and channel a gain in [1-gain, 1+gain], per image an offset in [-offset, offset]."""
    b, c = x.shape[:2]
    gains = uniform(g, 1 - gain, 1 + gain, b, c, 1, 1)
    shift = uniform(g, -offset, offset, b, 1, 1, 1)
    return (x * gains + shift).clamp(0, 1)


# ---------------------------------------------------------------- masks (True = missing)
def stripe_masks(g: torch.Generator, n: int, size: int, max_width: int, min_width: int = 1) -> torch.Tensor:
    """One stripe per image, vertical or horizontal, `min_width`-`max_width` px wide: (n, size, size)."""
    widths = integers(g, min_width, max_width + 1, n)
    start = integers(g, 0, size - widths + 1, n)
    vertical = coin(g, 0.5, n)
    ar = torch.arange(size, device=g.device)
    band = (ar[None] >= start[:, None]) & (ar[None] < (start + widths)[:, None])  # (n, size)
    return torch.where(
        vertical[:, None, None], band[:, None, :].expand(-1, size, -1), band[:, :, None].expand(-1, -1, size)
    )


def square_masks(g: torch.Generator, n: int, size: int, min_side: int, max_side: int) -> torch.Tensor:
    """One square per image, `min_side`-`max_side` px a side: (n, size, size)."""
    sides = integers(g, min_side, max_side + 1, n)
    y, x = integers(g, 0, size - sides + 1, n), integers(g, 0, size - sides + 1, n)
    ar = torch.arange(size, device=g.device)
    rows = (ar[None] >= y[:, None]) & (ar[None] < (y + sides)[:, None])
    cols = (ar[None] >= x[:, None]) & (ar[None] < (x + sides)[:, None])
    return rows[:, :, None] & cols[:, None, :]


def pixel_masks(g: torch.Generator, n: int, size: int, lo: float, hi: float) -> torch.Tensor:
    """Scattered pixels, a ratio in [lo, hi] of them per image: (n, size, size)."""
    return torch.rand(n, size, size, generator=g, device=g.device) < uniform(g, lo, hi, n, 1, 1)


def stroke_masks(
    g: torch.Generator, n: int, size: int, max_strokes: int = 4, max_moves: int = 11
) -> torch.Tensor:
    """Free-form brush strokes like a user's scribble: 1-`max_strokes` random walks of 4-`max_moves`
    discs per image, each disc painted after a move: (n, size, size)."""
    dev = g.device
    strokes = integers(g, 1, max_strokes + 1, n)  # (n,)
    moves = integers(g, 4, max_moves + 1, n, max_strokes)  # (n, S)
    y0, x0 = uniform(g, 0, size, n, max_strokes), uniform(g, 0, size, n, max_strokes)
    radius = uniform(g, 0.8, max(1.0, size / 16), n, max_strokes)
    angle = uniform(g, 0, 2 * math.pi, n, max_strokes)[..., None] + torch.cumsum(
        0.6 * torch.randn(n, max_strokes, max_moves, generator=g, device=dev), dim=-1
    )  # (n, S, T): the heading after each move
    step = radius[..., None] * 1.5
    # Positions are clipped after every move, as a walk held inside the frame.
    ys, xs, y, x = [], [], y0, x0
    for t in range(max_moves):
        y = (y + torch.sin(angle[..., t]) * step[..., 0]).clamp(0, size - 1)
        x = (x + torch.cos(angle[..., t]) * step[..., 0]).clamp(0, size - 1)
        ys.append(y)
        xs.append(x)
    ys, xs = torch.stack(ys, -1), torch.stack(xs, -1)  # (n, S, T)
    active = (torch.arange(max_strokes, device=dev)[None, :, None] < strokes[:, None, None]) & (
        torch.arange(max_moves, device=dev)[None, None, :] < moves[..., None]
    )  # (n, S, T)
    ar = torch.arange(size, device=dev, dtype=torch.float32)
    dy = (ar[None, None, None, :] - ys[..., None]) ** 2  # (n, S, T, size)
    dx = (ar[None, None, None, :] - xs[..., None]) ** 2
    inside = (
        dy[..., :, None] + dx[..., None, :] <= (radius**2)[..., None, None, None]
    )  # (n, S, T, size, size)
    return (inside & active[..., None, None]).flatten(1, 2).any(1)


def mix_of_masks(g: torch.Generator, n: int, parts: list, size: int) -> torch.Tensor:
    """Masks made by `parts` [(share, make(g, count) -> (count, size, size))], in random order."""
    bounds = torch.tensor([0.0] + [s for s, _ in parts]).cumsum(0).mul(n).round().long().tolist()
    out = torch.zeros(n, size, size, dtype=torch.bool, device=g.device)
    for (_, make), a, b in zip(parts, bounds[:-1], bounds[1:]):
        if b > a:
            out[a:b] = make(g, b - a)
    return out[torch.randperm(n, generator=g, device=g.device)]


def mask_ratios(g: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    """n ratios in [lo, hi] with density rising linearly towards hi: (n, 1, 1, 1)."""
    return lo + (hi - lo) * torch.rand(n, 1, 1, 1, generator=g, device=g.device).sqrt()


def random_pixels_missing(x: torch.Tensor, g: torch.Generator, ratios: torch.Tensor) -> torch.Tensor:
    """A float mask (1 = missing) of x's shape, each image missing a `ratios` share of its pixels."""
    return (torch.rand(x.shape, generator=g, device=g.device) < ratios).float()


# ---------------------------------------------------------------- crops of photos
def random_crops(
    pool: list[torch.Tensor], weights: torch.Tensor | None, g: torch.Generator, n: int, crop: int
) -> torch.Tensor:
    """n random crop x crop patches of the uint8 (3, H, W) photos in `pool` (chosen with `weights`, or
    uniformly), mirrored at random: (n, 3, crop, crop) float32 on the generator's device."""
    if weights is None:
        which = pick(g, len(pool), n).tolist()
    else:
        which = torch.multinomial(weights.to(g.device), n, replacement=True, generator=g).tolist()
    tops = torch.rand(n, generator=g, device=g.device).tolist()
    lefts = torch.rand(n, generator=g, device=g.device).tolist()
    out = []
    for k, ty, tx in zip(which, tops, lefts):
        src = pool[k]
        y, x = int(ty * (src.shape[1] - crop + 1)), int(tx * (src.shape[2] - crop + 1))
        out.append(src[:, y : y + crop, x : x + crop])
    batch = torch.stack(out).to(g.device, torch.float32) / 255.0
    return random_flip(batch, g)
