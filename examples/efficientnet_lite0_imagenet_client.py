"""Classify images with efficientnet_lite0_imagenet: base64 files in JSON, the top 5 classes back.

hub serving start -m efficientnet_lite0_imagenet
python examples/efficientnet_lite0_imagenet_client.py IMAGE [IMAGE ...] [--url http://127.0.0.1:8866]
"""

import argparse
import base64
from pathlib import Path

import requests

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:8866")
    parser.add_argument("--top-k", type=int, default=5)
    args = parser.parse_args()
    data = {
        "images": [base64.b64encode(path.read_bytes()).decode("ascii") for path in args.images],
        "top_k": args.top_k,
    }
    response = requests.post(f"{args.url}/predict/efficientnet_lite0_imagenet", json=data, timeout=60)
    envelope = response.json()
    if envelope["status"] != "0":
        raise SystemExit(f"error {response.status_code}: {envelope['msg']}")
    for path, result in zip(args.images, envelope["results"], strict=True):
        print(path)
        for item in result["data"]:
            print(f"  {item['score']:.3f}  {item['label']}")
