"""Image playground: prompt, size and count; a gallery of this session's results."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.generation import CallInfo
from core.service import ImageRequest
from core.types import Capability
from ui import picker, state
from ui.widgets import call_stats, reporting_errors, resolution_box

GALLERY = "image_gallery"
SIZES = ["1024x1024", "1024x1536", "1536x1024", "512x512"]
EXTENSION = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def render() -> None:
    who = state.requester()
    desk = state.get_desk()
    st.title("Image")
    pin = picker.model_picker(desk, Capability.IMAGE, who)
    resolution = resolution_box(desk, Capability.IMAGE, who, pin)
    sizes = (desk.generation.support(resolution).image_sizes if resolution else None) or SIZES
    with st.form("image_form"):
        prompt = st.text_area("Prompt", placeholder="A red fox in the snow, watercolour")
        size_col, count_col = st.columns(2)
        size = size_col.selectbox("Size", sizes)  # only the sizes this model draws
        count = count_col.number_input("Images", 1, 4, 1)
        submitted = st.form_submit_button("Generate", type="primary", icon=":material/brush:")
    gallery: list[dict] = st.session_state.setdefault(GALLERY, [])
    if submitted and prompt.strip():
        with reporting_errors("Generating the image"), st.spinner("Generating…"):
            request = ImageRequest(prompt, size, int(count))
            outcome = desk.generation.generate("image", request, who, pin=pin)
            for image in outcome.result.images:
                gallery.insert(0, gallery_item(prompt, image, outcome.info, size))
            call_stats(outcome.info)
    elif submitted:
        st.warning("Write a prompt first.")
    _gallery(gallery)


def gallery_item(prompt: str, image: Any, info: CallInfo, size: str) -> dict[str, Any]:
    """One gallery entry: the image with the prompt, provider, model and size it came from."""
    return {
        "prompt": prompt,
        "image": image,
        "info": info,
        "provider": info.display_name,
        "model": info.model,
        "size": size,
    }


def item_caption(item: dict[str, Any]) -> str:
    """Under an image: its model and size, then the start of its prompt (plain text)."""
    made = " · ".join(str(item[k]) for k in ("provider", "model", "size") if item.get(k))
    return f"{made}\n{item['prompt'][:80]}" if made else item["prompt"][:80]


def _gallery(gallery: list[dict]) -> None:
    if not gallery:
        st.caption("Your images appear here (kept for this session).")
        return
    st.subheader(f"Gallery ({len(gallery)})", anchor=False)
    columns = st.columns(3)
    for index, item in enumerate(gallery):
        image = item["image"]
        with columns[index % 3], st.container(border=True):
            st.image(image.data)  # bytes only, never a URL
            st.text(item_caption(item))  # upstream model ids: plain text, never Markdown
            st.download_button(
                "Download",
                image.data,
                key=f"download_{index}",
                file_name=f"image-{len(gallery) - index}.{EXTENSION.get(image.mime, 'png')}",
                mime=image.mime,
                icon=":material/download:",
            )


if __name__ == "__main__":  # run as a file, not imported: go through the sign-in gate
    state.send_to_entrypoint("image")
