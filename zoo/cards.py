"""Model cards: Hugging Face card format, read and written with `huggingface_hub.ModelCard`.

The measured numbers live in two places of a card, both written only by
`write_results` (called by ``python -m training.evaluate NAME``):
* ``model-index`` in the YAML front matter (one `EvalResult` per metric), and
* the markdown results table between RESULTS_START and RESULTS_END.
The front matter also keeps ``zoo_check``: the same metrics on a small fixed
subset, which the test-suite recomputes to catch a card that no longer
matches its weights or code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard

RESULTS_START = "<!-- zoo:results:start -->"
RESULTS_END = "<!-- zoo:results:end -->"
REQUIRED_METADATA = ("license", "library_name", "tags", "datasets", "pipeline_tag")


@dataclass
class Metric:
    """One measured number: e.g. Metric("psnr", "PSNR sigma=0.5", 24.3, config="sigma=0.5")."""

    type: str
    name: str
    value: float
    config: str | None = None


@dataclass
class EvalReport:
    """What an evaluation run hands to `write_results`."""

    task_type: str  # e.g. "image-to-image", "image-classification"
    dataset_type: str  # e.g. "fashion_mnist"
    dataset_name: str  # human-readable, says exactly which data/split
    dataset_split: str
    metrics: list[Metric]
    table_markdown: str  # the results table: model vs baselines vs source system
    check: dict[str, Any] = field(default_factory=dict)  # {"n": 64, "metrics": {name: value}}


def load_card(path_or_name: str | Path) -> ModelCard:
    """A card from a path, or from a registry name (its `card_path`)."""
    path = Path(path_or_name)
    if not path.suffix:
        from .registry import get_entry

        path = get_entry(str(path_or_name)).card_path
    if not path.is_file():
        raise FileNotFoundError(f"model card {path} does not exist")
    return ModelCard.load(path)


def card_metrics(card: ModelCard) -> dict[str, float]:
    """model-index metrics as {metric name: value}."""
    return {r.metric_name or r.metric_type: float(r.metric_value) for r in (card.data.eval_results or [])}


def card_check(card: ModelCard) -> dict[str, Any]:
    return dict(card.data.to_dict().get("zoo_check") or {})


def missing_metadata(card: ModelCard) -> list[str]:
    data = card.data.to_dict()
    return [key for key in REQUIRED_METADATA if not data.get(key)]


def results_section(card: ModelCard) -> str:
    match = re.search(re.escape(RESULTS_START) + r"(.*?)" + re.escape(RESULTS_END), card.text, flags=re.S)
    return match.group(1).strip() if match else ""


def card_value(value: float) -> float:
    """A metric as the card stores it: 4 decimals, or 4 significant digits below 1 (an MSE of
    0.029981 must not read as 0.03 beside a target of 0.03)."""
    value = float(value)
    return float(f"{value:.4g}") if abs(value) < 1 else round(value, 4)


def write_check(path: str | Path, check: dict[str, Any]) -> ModelCard:
    """Rewrite only a card's zoo_check (the quick check on shipped data), leaving its measured tables."""
    card = ModelCard.load(path)
    card.data.zoo_check = check
    card.save(path)
    return card


ATTRIBUTIONS_START = "<!-- zoo:attributions:start -->"
ATTRIBUTIONS_END = "<!-- zoo:attributions:end -->"


def write_attributions(path: str | Path, lines: list[str]) -> bool:
    """Refill a card's attributions block (the credits its training photos' licences ask for); False
    when the card has no such block."""
    path = Path(path)
    text = path.read_text()
    if ATTRIBUTIONS_START not in text or ATTRIBUTIONS_END not in text:
        return False
    block = "\n".join([ATTRIBUTIONS_START, *lines, ATTRIBUTIONS_END])
    pattern = re.escape(ATTRIBUTIONS_START) + r".*?" + re.escape(ATTRIBUTIONS_END)
    path.write_text(re.sub(pattern, lambda _: block, text, flags=re.S))
    return True


def write_results(path: str | Path, model_name: str, report: EvalReport) -> ModelCard:
    """Rewrite a card's model-index, zoo_check and results table from one evaluation run."""
    path = Path(path)
    card = ModelCard.load(path)
    card.data.model_name = model_name
    from .registry import get_entry, is_model

    if is_model(model_name):  # the licence is the registry's (a test keeps the two equal)
        card.data.license = get_entry(model_name).license
    card.data.eval_results = [
        EvalResult(
            task_type=report.task_type,
            dataset_type=report.dataset_type,
            dataset_name=report.dataset_name,
            dataset_split=report.dataset_split,
            metric_type=m.type,
            metric_name=m.name,
            metric_value=card_value(m.value),
            metric_config=m.config,
        )
        for m in report.metrics
    ]
    if report.check:
        card.data.zoo_check = report.check
    block = f"{RESULTS_START}\n{report.table_markdown.strip()}\n{RESULTS_END}"
    text = card.text
    if RESULTS_START in text and RESULTS_END in text:
        text = re.sub(
            re.escape(RESULTS_START) + r".*?" + re.escape(RESULTS_END), lambda _: block, text, flags=re.S
        )
    else:
        text = text.rstrip() + "\n\n## Results\n\n" + block + "\n"
    card.text = text
    card.save(path)
    return card
