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


def UploadImage(label: str, **kwargs) -> gr.Image:  # noqa: N802 (used like the component class it builds)
    """A stock `gr.Image` (so the browser shows the usual widget) whose preprocessing hands over the
    file's path and reports a file that is not an image in words."""
    kwargs.setdefault("sources", ["upload", "clipboard"])
    image = gr.Image(label=label, type="filepath", image_mode=None, **kwargs)
    stock = image.preprocess

    def preprocess(payload):
        try:
            return stock(payload)
        except gr.Error:
            raise
        except Exception as exc:  # PIL could not read the header: not an image (or a truncated one)
            name = getattr(payload, "orig_name", None) or "the uploaded file"
            raise user_error(
                f"{name} is not an image this app can read ({type(exc).__name__}); "
                f"upload a {IMAGE_KINDS} file"
            ) from None

    image.preprocess = preprocess  # Gradio calls the instance's preprocess before the handler
    return image
