from pathlib import Path

import numpy as np

from hubserving import moduleinfo, serving
from hubserving.modules.exported_model.runtime import open_model
from hubserving.modules.senta_bilstm.text import Vocab  # the character -> id table of training

MODEL = Path(__file__).parent / "model"


@moduleinfo(name="my_senta", version="1.0.0", summary="Sentiment of Chinese reviews", type="nlp/sentiment")
class MySenta:
    def __init__(self, num_threads: int = 1) -> None:
        self.model = open_model(MODEL, num_threads)  # Paddle Inference or ONNX, by file name
        self.vocab = Vocab.load(MODEL / "vocab.txt")

    @serving(batch_arg="texts", input="text")  # concurrent requests share one call
    def classify(self, texts: list[str]) -> list[dict[str, object]]:
        if not texts:
            return []
        rows = [self.vocab.encode(text) for text in texts]  # pre-processing: text -> padded ids
        ids = np.zeros((len(rows), max(map(len, rows))), dtype=np.int64)
        for index, row in enumerate(rows):
            ids[index, : len(row)] = row
        lengths = np.array([len(row) for row in rows], dtype=np.int64)
        [probs] = self.model.run({"ids": ids, "lengths": lengths}).values()  # [texts, 2]
        return [  # post-processing: one answer per text
            {"text": text, "label": "positive" if p >= 0.5 else "negative", "positive": round(p, 4)}
            for text, p in zip(texts, probs[:, 1].tolist(), strict=True)
        ]
