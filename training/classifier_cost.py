"""What a training step of each candidate Fashion-MNIST classifier costs on this CPU (nca-fmnist's
classifier lever): the shipped SmallCNN, the small ResNet option, and a DenseNet-BC of the size of
Fashion-MNIST's benchmark entry (growth 12, three dense blocks of 16 layers, ~0.77M parameters,
0.954 clean there), all under 1M parameters.

    python -m training.classifier_cost --out reports/classifier-cost   # a few minutes

Times forward + backward + SGD step at batch 128 on random 28x28 images (after one warm-up step) and
converts it to minutes per epoch of the 60,000 training images. Ratios to the SmallCNN come from the
same run, so they hold even when the machine is busy; the absolute minutes do not.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torchvision
from torch import nn

from zoo.pipelines.nca_fmnist import build_classifier
from zoo.protocols.common import markdown_table
from zoo.splits import no_test_split

from .common import write_report

BATCH = 128
EPOCH = 60_000


def densenet_bc(num_classes: int = 10) -> nn.Module:
    """torchvision's DenseNet-BC (k = 12, blocks (16, 16, 16)) with a 3x3 stride-1 grey stem and no stem
    pooling, as CIFAR-style DenseNets are run on 28-32 px images: (B, 1, 28, 28) -> (B, num_classes)."""
    net = torchvision.models.DenseNet(
        growth_rate=12, block_config=(16, 16, 16), num_init_features=24, bn_size=4, num_classes=num_classes
    )
    net.features.conv0 = nn.Conv2d(1, 24, 3, padding=1, bias=False)
    net.features.pool0 = nn.Identity()
    return net


CANDIDATES = {
    "SmallCNN, width 48 (shipped)": lambda: build_classifier("cnn", 48),
    "small ResNet, widths 32/64/128": lambda: build_classifier("resnet", 32),
    "DenseNet-BC, k=12, 3x16 layers": densenet_bc,
}


def seconds_per_step(net: nn.Module, steps: int, batch: int = BATCH) -> float:
    """Mean wall seconds of one training step (forward, backward, SGD update) over `steps` steps."""
    torch.manual_seed(0)
    x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    net.train()
    for i in range(steps + 1):  # step 0 warms up (allocations, kernels)
        if i == 1:
            start = time.perf_counter()
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - start) / steps


def measure(steps: int, batch: int = BATCH) -> list[dict]:
    rows = []
    for name, build in CANDIDATES.items():
        net = build()
        secs = seconds_per_step(net, steps, batch)
        rows.append(
            {
                "classifier": name,
                "parameters (M)": sum(p.numel() for p in net.parameters()) / 1e6,
                f"s per step (batch {batch})": secs,
                "min per epoch": secs * EPOCH / batch / 60,
            }
        )
    base = rows[0][f"s per step (batch {batch})"]
    for row in rows:
        row["x SmallCNN"] = row[f"s per step (batch {batch})"] / base
    return rows


@no_test_split("python -m training.classifier_cost")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.classifier_cost", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--steps", type=int, default=3, help="timed steps per classifier")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--out", type=Path, default=None, help="write OUT.md and OUT.json too")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.batch < 1:
        parser.error("--steps and --batch must be at least 1")
    rows = measure(args.steps, args.batch)
    text = (
        f"Training-step cost of Fashion-MNIST classifiers under 1M parameters ({torch.get_num_threads()} "
        f"CPU thread(s), {args.steps} timed steps each).\n\n"
        + markdown_table(list(rows[0]), [list(r.values()) for r in rows])
        + "\n"
    )
    print(text)
    if args.out:
        write_report(args.out, text, {"steps": args.steps, "batch": args.batch, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
