"""The "Model zoo" tab: every registered model's card, as the Hub would render it."""

from __future__ import annotations

import re

import gradio as gr

import zoo
from zoo.cards import card_metrics

from .tabs import register_tab

_IMAGE_LINK = re.compile(r"!\[([^\]]*)\]\(([^)\s]+\.png)\)")


def card_markdown(name: str) -> tuple[str, list[tuple[str, str]]]:
    """(markdown, [(image path, caption)]): relative image links are shown as gr.Image instead."""
    entry = zoo.get_entry(name)
    try:
        card = zoo.card(name)
    except FileNotFoundError as exc:
        return f"{entry.summary}\n\n*{exc}*", []
    measured = ", ".join(f"{k} = {v:g}" for k, v in card_metrics(card).items()) or "not evaluated yet"
    head = (
        f"**task:** {entry.task} &nbsp; **licence:** {card.data.license} &nbsp; "
        f"**weights:** `{entry.repo_id}@{entry.revision[:12]}`\n\n**measured:** {measured}"
    )
    pictures = [
        (str(entry.card_path.parent / path), caption) for caption, path in _IMAGE_LINK.findall(card.text)
    ]
    return f"{head}\n\n{_IMAGE_LINK.sub('', card.text)}", pictures


@register_tab(order=90)
def build_zoo_tab() -> None:
    with gr.Tab("Model zoo", id="zoo"):
        gr.Markdown(
            "Every model in the zoo, with its card. Numbers are written by "
            "`python -m training.evaluate NAME`, never by hand."
        )
        for name in zoo.list_models():
            text, pictures = card_markdown(name)
            with gr.Accordion(f"{name} — {zoo.get_entry(name).summary}", open=False):
                gr.Markdown(text)
                for path, caption in pictures:
                    gr.Image(path, label=caption, interactive=False, height=360)
