"""The "Model zoo" tab: every registered model's card, as the Hub would render it."""
from __future__ import annotations

import gradio as gr

import zoo
from zoo.cards import card_metrics


def card_markdown(name: str) -> str:
    entry = zoo.get_entry(name)
    try:
        card = zoo.card(name)
    except FileNotFoundError as exc:
        return f"## {name}\n\n{entry.summary}\n\n*{exc}*"
    head = (f"**task:** {entry.task} &nbsp; **licence:** {card.data.license} &nbsp; "
            f"**weights:** `{entry.repo_id}@{entry.revision[:12]}`\n\n"
            f"**measured:** " + ", ".join(f"{k} = {v:g}" for k, v in card_metrics(card).items()))
    return f"{head}\n\n{card.text}"


def build_zoo_tab() -> None:
    with gr.Tab("Model zoo", id="zoo"):
        gr.Markdown("Every model in the zoo, with its card. Numbers are written by "
                    "`python -m training.evaluate NAME`, never by hand.")
        for name in zoo.list_models():
            with gr.Accordion(f"{name} — {zoo.get_entry(name).summary}", open=False):
                gr.Markdown(card_markdown(name), elem_classes=["zoo-card"])
