"""What a rater is shown: every image fitted to one display size and freshly encoded.

records.jsonl and releases publish each image's sha256 next to its model, and models differ in native
size (512 px against 1024 px in the real suite). Serving the generated PNG, or its pixels re-encoded,
would let a rater look the model up. So each image is resized (PIL Lanczos, aspect kept) to fit a
`display_px` square, centred on a grey square canvas, and encoded as a PNG without metadata: one size
for all, and bytes that match no published file. An image already at `display_px` square would come
out with its pixels unchanged, so it is refused: choose a display size no model produces natively.
"""
from __future__ import annotations

import io
from collections.abc import Iterable

from PIL import Image

from sentinel.images import encode_png

DISPLAY_PX = 768  # no model in the suites generates 768 px natively (512 and 1024 px do)
CANVAS_GREY = (128, 128, 128)


def fit(img: Image.Image, display_px: int, where: str) -> Image.Image:
    """`img` resized to fit a display_px square, centred on grey; refuses a no-op resize."""
    w, h = img.size
    if (w, h) == (display_px, display_px):
        raise ValueError(f"{where}: already {w}x{h} = the display size, so raters would get its published "
                         "pixels; choose another --display-px")
    scale = display_px / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    canvas = Image.new("RGB", (display_px, display_px), CANVAS_GREY)
    canvas.paste(img.convert("RGB").resize(size, Image.Resampling.LANCZOS),
                 ((display_px - size[0]) // 2, (display_px - size[1]) // 2))
    return canvas


def served_png(img: Image.Image, display_px: int, where: str) -> bytes:
    """The PNG bytes a rater's browser receives for `img` (fresh encode: no text chunks or names)."""
    return encode_png(fit(img, display_px, where))


def check_stored(pngs: Iterable[bytes], display_px: int) -> None:
    """A database filled earlier must hold only display-size images (older versions stored native ones)."""
    for png in pngs:
        with Image.open(io.BytesIO(png)) as img:  # the header only
            if img.size != (display_px, display_px):
                raise ValueError(f"ratings database holds a {img.size[0]}x{img.size[1]} image, not the "
                                 f"{display_px} px display size: it was filled by an older version or another "
                                 "--display-px; start a new database (or pass the --display-px it was filled with)")
