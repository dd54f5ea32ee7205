"""The hub: builds at import, every tab's function directly, and every api_name through gradio_client."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import zoo


@pytest.fixture(scope="module")
def app():
    import hub_app

    return hub_app


@pytest.fixture(scope="module")
def client(app):
    from gradio_client import Client

    _, url, _ = app.demo.queue().launch(
        server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True
    )
    try:
        yield Client(url, verbose=False)
    finally:
        app.demo.close()


def test_demo_has_every_card_in_the_zoo_tab(app):
    import gradio as gr

    assert isinstance(app.demo, gr.Blocks)
    labels = [b.label for b in app.demo.blocks.values() if isinstance(b, gr.Accordion)]
    for name in zoo.list_models():
        assert any(label.startswith(name) for label in labels), name
    from app.feature_tabs import DEPTHS

    api_names = {d.api_name for d in app.demo.fns.values()}
    depths = {value for _, value in DEPTHS}  # the feature-recon tab serves every depth (a selector)
    assert "feature-recon" in api_names and depths == set(zoo.list_models("feature-recon*"))
    assert set(zoo.list_models()) - depths <= api_names  # every other model has a tab named after it


def test_tab_functions_directly(app):
    from app import mnist_tabs

    original, noisy, restored, baseline, (before, after), table = mnist_tabs.run_denoise(None, 3, 0.5, 0)
    assert restored.shape == (280, 280) and restored.dtype == np.uint8 and "mnist-denoise" in table
    assert np.array_equal(before, noisy) and np.array_equal(after, restored)  # the slider: noisy | denoised
    assert "**Input:** test digit #3" in table and "far from the training images" not in table
    assert (original != noisy).any()  # the clean original is shown, not the noisy one
    original, damaged, restored, baseline, _, table = mnist_tabs.run_masked(None, 0, "vertical", 7, 0)
    assert original.shape == restored.shape == baseline.shape == (280, 280)
    assert damaged.shape == (280, 280, 3)  # the holes tinted, so a stripe over the background shows
    hole = damaged[..., 0] != damaged[..., 1]  # tinted pixels are not grey
    assert hole.any() and (hole.mean(0) > 0.99).sum() >= 7 * 10  # a whole vertical stripe (7 px x 10)
    drawing = {"background": None, "layers": [np.zeros((56, 56, 4), np.uint8)], "composite": None}
    drawing["layers"][0][10:30, 10:30, 3] = 255
    _, damaged, restored, _, _, _ = mnist_tabs.run_masked(None, 0, "drawn", 7, 0, drawing)
    assert (damaged[..., 0] != damaged[..., 1]).any()  # the painted hole, tinted
    original, decoded, z1, z2, plot, info = mnist_tabs.run_ae2d(None, 0)
    assert isinstance(z1, float) and z1 == round(z1, 1) and plot.ndim == 3 and "MSE" in info
    decoded, plot, cleared, info = mnist_tabs.decode_point_view(1.0, -2.0)
    assert cleared is None and "(1.0, -2.0)" in info and "MSE" not in info  # no stale input or MSE


def test_drawn_mode_waits_for_a_stroke_and_identical_images_read_infinite(app):
    from app import mnist_tabs
    from app.common import metrics_table

    out = mnist_tabs.run_masked_live(None, 0, "drawn", 7, 0, None)  # choosing "drawn": no error yet
    assert "Draw the damage" in out[-1]
    img = np.zeros((28, 28), np.float32)
    assert "∞ (identical)" in metrics_table(img, {"same": img}) and "100.00" not in metrics_table(
        img, {"same": img}
    )


def test_tiny_uploads_are_refused_and_unlike_inputs_are_flagged(app, tmp_path):
    import gradio as gr
    from app import mnist_tabs

    Image.new("L", (1, 1), 255).save(tmp_path / "dot.png")
    with pytest.raises(gr.Error, match="1x1 px; upload an image at least 8x8"):
        mnist_tabs.run_masked(str(tmp_path / "dot.png"), 0, "vertical", 7, 0)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8)).save(
        tmp_path / "noise.png"
    )  # not a digit
    table = mnist_tabs.run_denoise(str(tmp_path / "noise.png"), 0, 0.5, 0)[-1]
    assert "**Input:** your upload" in table and "far from the training images" in table


def test_tab_errors_are_gradio_errors(app):
    import gradio as gr
    from app import mnist_tabs

    with pytest.raises(gr.Error, match="between 0 and"):
        mnist_tabs.run_denoise(None, 99999, 0.5, 0)
    with pytest.raises(gr.Error, match="nothing is painted"):
        mnist_tabs.run_masked(None, 0, "drawn", 7, 0, None)


def test_api_through_gradio_client(client, tmp_path):
    from gradio_client import handle_file

    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    Image.fromarray(digit).save(tmp_path / "one.png")
    result = client.predict(handle_file(str(tmp_path / "one.png")), 0, 0.5, 0, api_name="/mnist-denoise")
    assert len(result) == 6 and "mnist-denoise" in result[5]
    assert Image.open(result[2]).size == (280, 280)
    result = client.predict(None, 1, "patch", 9, 3, None, api_name="/mnist-masked")
    assert "biharmonic" in result[5]
    result = client.predict(None, 2, api_name="/mnist-ae2d")
    assert isinstance(result[2], float)
    result = client.predict(1.0, -2.0, api_name="/mnist-ae2d-decode")
    assert Image.open(result[0]).size == (280, 280)


def test_api_bad_input_is_a_readable_error(client, tmp_path):
    from gradio_client import handle_file

    (tmp_path / "notes.png").write_text("not really a png")
    with pytest.raises(Exception) as err:
        client.predict(handle_file(str(tmp_path / "notes.png")), 0, 0.5, 0, api_name="/mnist-denoise")
    assert "Traceback" not in str(err.value)


def test_nca_tab_directly_and_through_the_client(app, client):
    from app import nca_tab

    original, damaged, gif, repaired, biharmonic, probs, table = nca_tab.run_nca(None, 5, 0.4, 8, 0)
    assert repaired.shape == biharmonic.shape == original.shape == (280, 280)
    assert np.array_equal(nca_tab.show_original(None, 5), original)  # shown before Repair is pressed
    assert abs(sum(probs.values()) - 1) < 1e-4 and "NCA" in table
    from PIL import Image

    with Image.open(gif) as anim:
        assert anim.n_frames >= 9  # one frame per step, plus the damaged input
    result = client.predict(None, 7, 0.4, 10, 1, api_name="/nca-fmnist")
    assert len(result) == 7 and result[5]["label"] in zoo.load("nca-fmnist").class_names


def test_feature_tab_directly_and_through_the_client(app, client, tmp_path):
    from gradio_client import handle_file

    from app import feature_tabs

    original, feats, recon, reference, table, (before, after) = feature_tabs.run_feature_recon(
        None, "skimage:chelsea", "feature-recon-s16"
    )
    assert recon.shape == original.shape == reference.shape and recon.shape[-1] == 3
    assert before is original and after is recon and "**Input:** example skimage:chelsea" in table
    assert feats.shape == original.shape and "PSNR" in table and "bicubic" in table
    rgba = (np.random.default_rng(0).random((700, 300, 4)) * 255).astype(
        np.uint8
    )  # tall, with alpha: shrunk to 512
    Image.fromarray(rgba, "RGBA").save(tmp_path / "tall.png")
    result = client.predict(
        handle_file(str(tmp_path / "tall.png")), "skimage:chelsea", "feature-recon", api_name="/feature-recon"
    )
    assert Image.open(result[2]).size == (219, 512)
    with pytest.raises(Exception) as err:
        client.predict(None, "skimage:chelsea", "no-such-depth", api_name="/feature-recon")
    assert "Traceback" not in str(err.value)


BAD_CALLS = [  # (api_name, arguments, words the readable error must contain)
    ("/mnist-denoise", (None, 99999, 0.5, 0), "greater than maximum value 999"),  # Gradio checks the slider
    ("/mnist-masked", (None, 0, "drawn", 7, 0, None), "nothing is painted"),  # ours
    ("/mnist-ae2d", (None, -5), "less than minimum value 0"),
    ("/mnist-ae2d-decode", (100.0, 0.0), "greater than maximum value 30"),
    ("/nca-fmnist", (None, 0, 0.4, 1000, 0), "greater than maximum value 60"),
    ("/feature-recon", (None, "no-such-photo", "feature-recon"), "not in the list of choices"),
]


@pytest.mark.parametrize("api,args,words", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_every_endpoint_answers_bad_input_with_a_readable_error(client, api, args, words):
    with pytest.raises(Exception) as err:
        client.predict(*args, api_name=api)
    message = str(err.value)
    assert words in message and "Traceback" not in message, message


def test_an_out_of_range_slider_value_names_the_control_and_leaves_no_traceback(client, capfd):
    capfd.readouterr()
    with pytest.raises(Exception) as err:
        client.predict(None, 0, 0.4, 1000, 0, api_name="/nca-fmnist")  # NCA steps: 0..60
    message = str(err.value)
    assert "NCA steps" in message and "from 0 to 60" in message, message
    assert "Traceback" not in capfd.readouterr().err  # a user's mistake: one warning line, no traceback


@pytest.mark.parametrize("name", zoo.list_models())
def test_each_protocols_example_call_answers_through_the_client(client, name):
    from zoo import protocols

    api, args = protocols.get_protocol(name).api_call
    result = client.predict(*args, api_name=api)
    assert isinstance(result, (list, tuple)) and len(result) >= 2


def test_block_inpainting_tab_directly_and_through_the_client(app, client, tmp_path):
    from gradio_client import handle_file

    from app import blocks_tab

    name = list(blocks_tab.examples())[0]
    damaged, restored, telea, biharmonic, table, (before, after) = blocks_tab.run_blocks(None, name, 60, 4, 1)
    assert damaged.shape == restored.shape == telea.shape == biharmonic.shape == (256, 256, 3)
    assert "biharmonic" in table and "Telea" in table and np.array_equal(after, restored)
    drawing = {"background": None, "layers": [np.zeros((64, 64, 4), np.uint8)], "composite": None}
    drawing["layers"][0][20:30, 5:60, 3] = 255  # a painted scratch
    damaged, restored, *_ = blocks_tab.run_blocks(None, name, 0, 2, 0, drawing)
    assert (damaged != restored).any()
    photo = (np.random.default_rng(0).random((90, 120, 3)) * 255).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    result = client.predict(
        handle_file(str(tmp_path / "photo.png")), name, 30, "4", 0, None, api_name="/cifar10-blocks"
    )  # the block size as the API documents it (Literal['2', '4']) and the page sends it
    assert Image.open(result[1]).size[0] >= 120 and "cifar10-blocks" in result[4]
    big_photo = (np.random.default_rng(1).random((1200, 1600, 3)) * 255).astype(np.uint8)
    Image.fromarray(big_photo).save(tmp_path / "big.jpg")  # over the model's 1024 px: shrunk, as labelled
    result = client.predict(
        handle_file(str(tmp_path / "big.jpg")), name, 30, "2", 0, None, api_name="/cifar10-blocks"
    )
    w, h = Image.open(result[1]).size
    assert w * 3 == h * 4 and "cifar10-blocks" in result[4]  # restored at 256x192, shown enlarged
    with pytest.raises(Exception) as err:
        client.predict(None, name, 0, "2", 0, None, api_name="/cifar10-blocks")
    assert "nothing is painted" in str(err.value) and "Traceback" not in str(err.value)


@pytest.mark.parametrize(
    "kind", ["random missing pixels", "Gaussian noise", "blank 2x2 blocks", "none: rebuild from features"]
)
def test_compare_runs_every_model_that_takes_the_damage(app, kind):
    from app import compare_tab as C

    fam, masked = C.DAMAGES[kind].family, C.DAMAGES[kind].masked
    tasks = ("inpainting",) if masked else ("denoising", "feature-reconstruction")
    tag = "mnist" if fam == "digit" else "photos"
    expected = [
        n
        for n in zoo.list_models(tags=tag)
        if zoo.get_entry(n).task in tasks and C.family_of(n) == fam and zoo.load(n).needs_mask == masked
    ]
    assert C.models_for(kind) == expected and expected  # read from the registry, never empty
    assert "mnist-ae2d" not in expected and "nca-fmnist" not in expected  # no autoencoder, no clothing
    example = next(k for k in C.examples() if k.startswith("photo") == (fam == "photo"))
    gallery, table, (before, after), picker = C.run_compare(None, example, kind, 30, 0)
    results = {C.method_of(c): img for img, c in gallery[1:]}
    assert set(expected) <= set(results) and len(results) > len(expected)  # the classical methods too
    assert [c for _, c in gallery][0] == "original"
    psnrs = [float(line.split("|")[2].replace("∞ (identical)", "100")) for line in table.splitlines()[4:]]
    assert psnrs == sorted(psnrs, reverse=True)  # best first
    assert picker.value == table.splitlines()[4].split("|")[1].strip()  # the slider starts on the best
    first = results.get("damaged input", gallery[0][0])  # no damage ("none"): the original, not a result
    for name in expected:  # the picker shows any method against the damaged input
        b, a = C.show_in_slider(gallery, name)
        assert np.array_equal(b, first) and np.array_equal(a, results[name])


def test_compare_errors_and_the_api(app, client):
    import gradio as gr
    from app import compare_tab as C

    with pytest.raises(gr.Error, match="unknown damage"):
        C.run_compare(None, "test digit #0 (a 7)", "fire", 10, 0)
    with pytest.raises(gr.Error, match="unknown example"):
        C.run_compare(None, "nope", "vertical stripe", 10, 0)
    gallery, table, slider, picker = client.predict(
        None, next(iter(C.examples())), "vertical stripe", 7, 0, api_name="/compare"
    )
    assert "mnist-masked" in table and "biharmonic" in table and len(gallery) >= 4


def test_api_listing_offers_only_callable_endpoints(client):
    endpoints = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert "/webcam" not in endpoints  # the stream is browser-only; frames go to /feature-recon
    assert {"/feature-recon", "/compare", "/mnist-masked"} <= endpoints


def test_heldout_photos_are_decoded_once_and_shared_read_only(monkeypatch):
    import threading
    import time

    from app import common
    from zoo import data

    calls = []

    def slow_split(split):
        calls.append(split)
        time.sleep(0.2)  # long enough for the second caller to arrive while the first decodes
        return {"a": np.zeros((4, 4, 3), np.float32)}

    monkeypatch.setattr(data, "photo_split", slow_split)
    common._decoded_heldout_photos.cache_clear()
    try:
        got = []
        threads = [threading.Thread(target=lambda: got.append(common.heldout_photos())) for _ in range(3)]
        [t.start() for t in threads], [t.join() for t in threads]
        assert calls == ["test"] and all(g is got[0] for g in got)  # one decode, one shared dict
        with pytest.raises(ValueError, match="read-only"):
            got[0]["a"][0, 0, 0] = 1.0
    finally:
        common._decoded_heldout_photos.cache_clear()


def test_an_animated_upload_says_its_first_frame_is_used(app, tmp_path):
    from PIL import Image

    from app import mnist_tabs
    from zoo.decode import decode

    frames = [Image.new("L", (28, 28), v) for v in (0, 255, 128)]
    frames[0].paste(255, (10, 4, 18, 24))
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    upload = decode(str(tmp_path / "anim.gif"))
    *_, table = mnist_tabs.run_denoise(upload, 0, 0.5, 0)
    assert "animation of 3 frames: its first frame is used" in table
