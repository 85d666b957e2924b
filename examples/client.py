"""The seed document's client: two sentences to lac, print the envelope.

hub serving start -m lac
python examples/client.py [http://127.0.0.1:8866]
"""

import json
import sys

import requests

if __name__ == "__main__":
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8866"
    data = {"texts": ["今天是个好日子", "天气预报说今天要下雨"], "batch_size": 1}
    response = requests.post(
        f"{base}/predict/lac", headers={"Content-Type": "application/json"}, data=json.dumps(data), timeout=30
    )
    print(json.dumps(response.json(), ensure_ascii=False))
