"""Gradio components with the zoo's input rules built in: every image the hub receives is decoded by
`zoo.decode` (bounded memory and time, in a worker process), never by Gradio itself.

* `UploadImage`: a stock `gr.Image` whose preprocessing decodes the upload (Gradio's own, which
  opens the file with Pillow here, is not used) and hands the handler a `zoo.decode.Decoded`, which
  `zoo.images` takes like a path. The
  decode runs in Gradio's preprocessing thread, before the handler queues for the compute lane, so
  a hostile file that takes seconds to refuse never holds up another visitor's computation.
* `BoundedEditor`: a `gr.ImageEditor` whose layers are decoded the same way, and whose `accept_blobs`
  server route (where the browser sends the layers) bounds each blob's size, the layer index and what
  is kept in memory.
* `bounded_camera`: a webcam `gr.Image` whose frames are decoded the same way.
Files that are not images, or that are refused, become a readable message instead of Gradio's bare
red "Error" badge and a server traceback.
"""

from __future__ import annotations

import base64
import logging
import os
from collections import OrderedDict

import gradio as gr
import numpy as np

from zoo import decode

log = logging.getLogger("zoo.hub")
IMAGE_KINDS = decode.FORMATS_TEXT
MAX_EDITOR_LAYERS = 8  # the editor in these tabs has one layer; a few more for the browser's own use
MAX_EDITOR_STORED_BYTES = int(os.environ.get("ZOO_EDITOR_STORE_MB", "64")) * 1024 * 1024


def user_error(message: str) -> gr.Error:
    """A user's mistake: shown in the page, one warning line in the log, no traceback."""
    log.warning("user error: %s", message)
    return gr.Error(message, print_exception=False)


def install_slider_messages() -> None:
    """Make a slider value out of its range (typed into the slider's number box, or sent to the API) a
    user error that names the control and its range, not Gradio's bare "Value 99 is greater than maximum
    value 30." with a traceback in the log. Patched on the class, not per instance: a slider whose range
    a handler updates (gr.Slider(1, top, ...)) is rebuilt by Gradio from its class."""
    stock = gr.Slider.preprocess
    if getattr(stock, "zoo_messages", False):
        return

    def preprocess(self, payload):
        try:
            return stock(self, payload)
        except gr.Error as exc:
            raise user_error(
                f"{self.label or 'a slider'}: {exc.message} Drag the slider or type a value from "
                f"{self.minimum:g} to {self.maximum:g}."
            ) from None

    preprocess.zoo_messages = True
    gr.Slider.preprocess = preprocess


def UploadImage(  # noqa: N802 (used like the component class it builds)
    label: str, max_side: int | None = None, **kwargs
) -> gr.Image:
    """A stock `gr.Image` (so the browser shows the usual widget) whose preprocessing hands the handler
    the upload decoded by zoo.decode. Gradio's own preprocessing is not used: it opens the file with
    Pillow in this process, and opening some formats decodes them (an ICO decodes its embedded PNG).
    `max_side`: the long side the tab shrinks uploads to; large JPEGs are then decoded at a reduced
    scale (`zoo.decode.decode(reduce_to=)`), never below it."""
    kwargs.setdefault("sources", ["upload", "clipboard"])
    image = gr.Image(label=label, type="filepath", image_mode=None, **kwargs)

    def preprocess(payload):
        if payload is None:
            return None
        orig = getattr(payload, "orig_name", None)
        name = f"the upload {orig!r}" if orig else "the upload"
        return bounded(_payload_bytes(payload), name, reduce_to=max_side)

    image.preprocess = preprocess  # Gradio calls the instance's preprocess before the handler
    return readable_payloads(image, label)


def readable_payloads(component, what: str):
    """Make a malformed payload for `component` (say {"path": 5} sent to the API) a readable error, not
    Gradio's {"error": null} and a traceback in the log: its data model, validated before preprocess,
    turns pydantic's complaint into a user error."""
    import pydantic

    base = component.data_model

    def model_validate(cls, obj, *args, **kwargs):
        try:
            return base.model_validate(obj, *args, **kwargs)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "value"
            raise user_error(
                f"{what}: the value sent is not an image payload ({where}: {first['msg']}); send a file "
                "with gradio_client.handle_file(path) or "
                "{'path': URL_OR_PATH, 'meta': {'_type': 'gradio.FileData'}}"
            ) from None

    component.data_model = type(base.__name__, (base,), {"model_validate": classmethod(model_validate)})
    return component


def bounded(source, name: str, reduce_to: int | None = None) -> decode.Decoded:
    """A path or bytes from a visitor, decoded within zoo.decode's bounds; a refusal is a user error."""
    try:
        return decode.decode(source, name=name, reduce_to=reduce_to)
    except ValueError as exc:
        raise user_error(str(exc)) from None


def _payload_bytes(payload) -> bytes | str | None:
    """What a browser sent for an image: a data: URL's bytes, or the path Gradio stored the upload at."""
    if payload is None:
        return None
    url = getattr(payload, "url", None)
    if url and url.startswith("data:"):
        try:
            return base64.b64decode(url.split(",", 1)[1], validate=False)
        except (ValueError, IndexError):
            raise user_error("the image data sent is not valid base64") from None
    path = getattr(payload, "path", None)
    if path is None:
        raise user_error("no image was sent (the payload has neither a path nor data)")
    return path


def bounded_camera(**kwargs) -> gr.Image:
    """A webcam `gr.Image` (type numpy, RGB uint8 frames) whose frames are decoded by zoo.decode."""
    camera = gr.Image(type="numpy", **kwargs)

    def preprocess(payload):
        source = _payload_bytes(payload)
        if source is None:
            return None
        pixels = bounded(source, "the camera frame").pixels
        if pixels.dtype != np.uint8:
            raise user_error(f"the camera frame has {pixels.dtype} pixels; a camera sends 8-bit images")
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[..., None], 3, axis=-1)
        return np.ascontiguousarray(pixels[..., :3])

    camera.preprocess = preprocess
    return readable_payloads(camera, "the camera frame")


def refuse(status: int, message: str):
    """An HTTP error with a readable detail, for Gradio's non-queued routes (no traceback in the log)."""
    from fastapi import HTTPException

    log.warning("refused: %s", message)
    raise HTTPException(status_code=status, detail=message)


def BoundedEditor(**kwargs) -> gr.ImageEditor:  # noqa: N802 (used like the component class it builds)
    """A `gr.ImageEditor` whose images are decoded by zoo.decode (its value: background, layers and
    composite as `zoo.decode.Decoded`) and whose blob route is bounded."""
    editor = gr.ImageEditor(**kwargs)
    store: OrderedDict = OrderedDict()  # id -> EditorDataBlobs, oldest first
    editor.blob_storage = store

    def convert_and_format_image(file, flatten_on_white: bool = False):
        if file is None:
            return None
        source = bytes(file) if isinstance(file, (bytes, bytearray, memoryview)) else file.path
        return bounded(source, "the editor's layer")

    def stored_bytes() -> int:
        return sum(
            len(b or b"")
            for blobs in store.values()
            for b in [blobs.background, blobs.composite, *blobs.layers]
        )

    stock_accept = editor.accept_blobs

    def accept_blobs(data):
        fields, files = getattr(data, "data", None), getattr(data, "files", None)
        if not isinstance(fields, dict) or not files or not fields.get("id") or "type" not in fields:
            refuse(400, "expected a multipart form with id, type, index and one file")
        index = fields.get("index")
        if index not in (None, "null", ""):
            try:
                ok = 0 <= int(index) < MAX_EDITOR_LAYERS
            except (TypeError, ValueError):
                ok = False
            if not ok:
                refuse(
                    400, f"layer index {index!r} refused: the editor keeps at most {MAX_EDITOR_LAYERS} layers"
                )
        # (a blob over the hub's upload limit never gets here: Gradio's multipart parser refuses it
        # with 413 while reading, by the max_file_size hub_app.launch sets)
        result = stock_accept(data)
        blob_id = data.data["id"]
        if blob_id in store:
            store.move_to_end(blob_id)
        while len(store) > 1 and stored_bytes() > MAX_EDITOR_STORED_BYTES:
            store.popitem(last=False)  # oldest drawings first: their owner will have to send them again
        return result

    accept_blobs._is_server_fn = True  # what Gradio's /component_server route checks
    editor.accept_blobs = accept_blobs
    editor.convert_and_format_image = convert_and_format_image
    return readable_payloads(editor, "the editor")
