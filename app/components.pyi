"""Gradio components with the zoo's input rules built in.

`UploadImage` is a `gr.Image` that hands the handler the uploaded file's *path* (Gradio only
reads the header to check it is an image; `zoo.images` then checks the size from the header
before decoding anything), and turns a file that is not an image into a readable message
instead of Gradio's bare red "Error" badge and a server traceback.
"""
from __future__ import annotations

import logging

import gradio as gr

log = logging.getLogger("zoo.hub")
IMAGE_KINDS = "PNG, JPEG, BMP, GIF, WebP or TIFF"


def user_error(message: str) -> gr.Error:
    """A user's mistake: shown in the page, one warning line in the log, no traceback."""
    log.warning("user error: %s", message)
    return gr.Error(message, print_exception=False)

from gradio.events import Dependency

class UploadImage(gr.Image):
    def __init__(self, label: str, **kwargs) -> None:
        kwargs.setdefault("sources", ["upload", "clipboard"])
        super().__init__(label=label, type="filepath", image_mode=None, **kwargs)

    def get_block_name(self) -> str:
        return "image"  # the stock image widget in the browser

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception as exc:  # PIL could not read the header: not an image (or a truncated one)
            name = getattr(payload, "orig_name", None) or "the uploaded file"
            raise user_error(f"{name} is not an image this app can read ({type(exc).__name__}); "
                             f"upload a {IMAGE_KINDS} file") from None
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component