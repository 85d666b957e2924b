"""Read the text of an image with ch_pp-ocrv4, the PaddleHub way: cv2.imencode + base64 in JSON.

hub serving start -m ch_pp-ocrv4
python examples/ch_pp_ocrv4_client.py [IMAGE] [--url http://127.0.0.1:8866]
"""

import argparse
import base64

import cv2
import requests


def cv2_to_base64(image):
    return base64.b64encode(cv2.imencode(".jpg", image)[1].tobytes()).decode("utf8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default="tests/data/images/ocr_zh_en.png")
    parser.add_argument("--url", default="http://127.0.0.1:8866", help="the server (default %(default)s)")
    args = parser.parse_args()
    image = cv2.imread(args.image)
    if image is None:
        raise SystemExit(f"{args.image}: not an image file that OpenCV can read")
    data = {"images": [cv2_to_base64(image)]}
    response = requests.post(f"{args.url}/predict/ch_pp-ocrv4", json=data, timeout=60)
    envelope = response.json()
    if envelope["status"] != "0":
        raise SystemExit(f"error {response.status_code}: {envelope['msg']}")
    for line in envelope["results"][0]["data"]:
        print(f"{line['confidence']:.3f}  {line['text']}  {line['text_box_position']}")
