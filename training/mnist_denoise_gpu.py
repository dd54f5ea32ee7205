"""mnist-denoise trained at another scale on one GPU: the CPU trainer's objective (noisy = clip(x + sigma
N(0,1), 0, 1), sigma ~ U(0.1, 0.8) per digit, loss MSE + w (1 - SSIM), random shifts of up to 2 px),
with the digits, the shifts and the noise on the device and many more epochs.

    python -m training.mnist_denoise_gpu --minutes 4 --out runs/d \
        --init zoo/weights/mnist-denoise/model.safetensors
    python -m training.mnist_denoise_gpu --base-channels 48 --steps 20000 --out runs/d

Writes OUT/denoise-b{base}{-init}.safetensors (the U-Net's state dict, the EMA of its weights) and a
.json beside it: the recipe, the steps, and the mean per-image PSNR at sigma 0.5 on the 10,000 test
digits with the evaluation protocol's noise (`python -m training.evaluate mnist-denoise` gives the
card's figures, SSIM too, once the weights are promoted).
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from zoo import data
from zoo.protocols.mnist_denoise import noisy_digits
from zoo.registry import get_entry
from zoo.splits import no_test_split

from .gpu_loop import add_run_args, device_name, random_shift, train_clocked, write_run
from .losses import ssim

SIGMAS = (0.1, 0.8)  # the CPU trainer's range
RECIPE = ("batch", "lr", "ssim_weight", "ema", "seed", "init")


@torch.no_grad()
def psnr_on_validation(
    net, data_path: str | None, device, sigma: float = 0.5, limit: int | None = None
) -> float:
    """Mean per-image PSNR (data range 1) of the clamped output on the validation digits, protocol noise."""
    x, _ = data.load_mnist("validation", data_path)
    x = x[:limit]
    noisy = torch.from_numpy(noisy_digits(x, sigma).astype("float32"))[:, None].to(device)
    clean = torch.from_numpy(x)[:, None].to(device)
    out = torch.cat([net(b).clamp(0, 1) for b in noisy.split(2000)])
    mse = ((out - clean) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return (10 * torch.log10(1 / mse)).mean().item()


@no_test_split("python -m training.mnist_denoise_gpu")
def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_args(ap, "MNIST IDX folder (default: the fetched full MNIST)", batch=512, lr=2e-3)
    ap.add_argument("--base-channels", type=int, default=None, help="default: the registry's")
    ap.add_argument("--init", default=None, help="start from these weights (same architecture)")
    ap.add_argument("--ssim-weight", type=float, default=0.03)
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    x, _ = data.load_mnist("train", args.data, source="full" if args.data is None else "auto")
    digits = torch.from_numpy(x[: args.limit])[:, None].to(dev)  # (N, 1, 28, 28)
    entry = get_entry("mnist-denoise")
    kwargs = {**entry.model_kwargs}
    if args.base_channels:
        kwargs["base_channels"] = args.base_channels
    net = entry.builder(**kwargs).to(dev)
    if args.init:
        net.load_state_dict(load_file(args.init))
    params = sum(p.numel() for p in net.parameters())
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)

    def loss_of_step(net):
        clean = random_shift(digits[torch.randint(0, len(digits), (args.batch,), device=dev)])
        sigma = torch.empty(args.batch, 1, 1, 1, device=dev).uniform_(*SIGMAS)
        out = net((clean + sigma * torch.randn_like(clean)).clamp(0, 1))
        loss = F.mse_loss(out, clean)
        return loss + args.ssim_weight * (1 - ssim(out.clamp(0, 1), clean)) if args.ssim_weight else loss

    final, done = train_clocked("denoise", net, opt, loss_of_step, args)
    record = {
        "model_kwargs": kwargs,
        "parameters": params,
        **done,
        "epochs": round(done["steps"] * args.batch / len(digits), 1),
        "device": device_name(dev),
        "recipe": {k: getattr(args, k) for k in RECIPE},
        "sigmas": SIGMAS,
        "validation_psnr_sigma0.5": psnr_on_validation(final, args.data, dev, limit=args.limit),
    }
    name = f"denoise-b{kwargs['base_channels']}{'-init' if args.init else ''}"
    return write_run(args.out, name, final, record)


if __name__ == "__main__":
    main()
