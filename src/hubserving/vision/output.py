"""Annotated images as results: base64 in the answer, and a file only where the server's config asks.

``output_dir`` comes from ``init_args`` (the server's config), never from a request, so clients cannot
make the server write files, and without it nothing is written at all.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from hubserving.vision.draw import encode_jpeg, to_base64
from hubserving.vision.images import ImageArray


class Visualizer:
    """Turns an annotated image into ``{"visualization": <base64 JPEG>}`` (plus ``save_path``)."""

    def __init__(self, module: str, output_dir: Path | None = None) -> None:
        self.module = module
        self.output_dir = output_dir
        if output_dir is not None:
            output_dir.mkdir(parents=True, exist_ok=True)

    def publish(self, image: ImageArray) -> dict[str, str]:
        """The fields an annotated image adds to one image's result."""
        data = encode_jpeg(image)
        fields = {"visualization": to_base64(data)}
        if self.output_dir is not None:
            path = self.output_dir / self.file_name()
            path.write_bytes(data)
            fields["save_path"] = str(path)
        return fields

    def file_name(self) -> str:
        """Unique across worker processes: time, then random."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return f"{self.module}_{stamp}_{uuid.uuid4().hex[:12]}.jpg"
