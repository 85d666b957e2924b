"""Read the text of an image with ch_pp-ocrv4, the PaddleHub way: cv2.imencode + base64 in JSON.

hub serving start -m ch_pp-ocrv4
python examples/ch_pp_ocrv4_client.py IMAGE [http://127.0.0.1:8866]
"""

import base64
import sys

import cv2
import requests


def cv2_to_base64(image):
    return base64.b64encode(cv2.imencode(".jpg", image)[1].tobytes()).decode("utf8")


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/images/ocr_zh_en.png"
    base = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8866"
    data = {"images": [cv2_to_base64(cv2.imread(path))]}
    response = requests.post(f"{base}/predict/ch_pp-ocrv4", json=data, timeout=60)
    envelope = response.json()
    if envelope["status"] != "0":
        sys.exit(f"error {response.status_code}: {envelope['msg']}")
    for line in envelope["results"][0]["data"]:
        print(f"{line['confidence']:.3f}  {line['text']}  {line['text_box_position']}")
