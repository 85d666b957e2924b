"""PaddleHub Serving's documented Python client for lac: post two sentences, print the envelope.

hub serving start -m lac
python examples/client.py [--url http://127.0.0.1:8866]
"""

import argparse
import json

import requests

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8866", help="the server (default %(default)s)")
    args = parser.parse_args()
    data = {"texts": ["今天是个好日子", "天气预报说今天要下雨"], "batch_size": 1}
    response = requests.post(
        f"{args.url}/predict/lac",
        headers={"Content-Type": "application/json"},
        data=json.dumps(data),
        timeout=30,
    )
    print(json.dumps(response.json(), ensure_ascii=False))
