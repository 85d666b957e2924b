"""Find faces with face_detection: upload the file (multipart), get the boxes (and a picture of them).

hub serving start -m face_detection
python examples/face_detection_client.py [IMAGE] [--url http://127.0.0.1:8866] [--out faces.jpg]
"""

import argparse
import base64
from pathlib import Path

import requests

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", type=Path, default=Path("tests/data/images/face_astronaut.jpg"))
    parser.add_argument("--url", default="http://127.0.0.1:8866", help="the server (default %(default)s)")
    parser.add_argument("--out", type=Path, help="also write the image with the boxes drawn to this file")
    args = parser.parse_args()
    files = [("images", (args.image.name, args.image.read_bytes()))]
    fields = {"visualization": "true" if args.out else "false"}
    response = requests.post(f"{args.url}/predict/face_detection", files=files, data=fields, timeout=60)
    envelope = response.json()
    if envelope["status"] != "0":
        raise SystemExit(f"error {response.status_code}: {envelope['msg']}")
    result = envelope["results"][0]
    for face in result["data"]:
        box = face["left"], face["top"], face["right"], face["bottom"]
        print(f"{face['label']} {face['confidence']:.3f} left, top, right, bottom = {box}")
    if args.out:
        args.out.write_bytes(base64.b64decode(result["visualization"]))
        print(f"boxes drawn: {args.out}")
