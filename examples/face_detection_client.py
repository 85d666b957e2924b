"""Find faces with face_detection: upload the file (multipart), get the boxes and a picture of them.

hub serving start -m face_detection
python examples/face_detection_client.py IMAGE [http://127.0.0.1:8866]
Writes IMAGE's boxes drawn to faces.jpg in the current folder.
"""

import base64
import sys
from pathlib import Path

import requests

if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/images/face_astronaut.jpg")
    base = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8866"
    files = [("images", (path.name, path.read_bytes()))]
    response = requests.post(
        f"{base}/predict/face_detection", files=files, data={"visualization": "true"}, timeout=60
    )
    envelope = response.json()
    if envelope["status"] != "0":
        sys.exit(f"error {response.status_code}: {envelope['msg']}")
    result = envelope["results"][0]
    for face in result["data"]:
        box = face["left"], face["top"], face["right"], face["bottom"]
        print(f"{face['label']} {face['confidence']:.3f} left, top, right, bottom = {box}")
    Path("faces.jpg").write_bytes(base64.b64decode(result["visualization"]))
    print("boxes drawn: faces.jpg")
