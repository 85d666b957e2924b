"""The baseline to beat: TF-IDF over character 1-3-grams and logistic regression (scikit-learn)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from hubserving.modules.senta_bilstm.text import normalize

from .data import Split


@dataclass(frozen=True)
class BaselineResult:
    test_accuracy: float
    cpu_s: float


def run_baseline(split: Split, regularization_c: float = 10.0) -> BaselineResult:
    """Fit on ``split.train`` (the dev part is not needed), score ``split.test``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    started = time.process_time()
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    features = vectorizer.fit_transform([normalize(review.text) for review in split.train])
    classifier = LogisticRegression(C=regularization_c, max_iter=2000)
    classifier.fit(features, [review.label for review in split.train])
    predicted = classifier.predict(vectorizer.transform([normalize(review.text) for review in split.test]))
    correct = sum(int(guess == review.label) for guess, review in zip(predicted, split.test, strict=True))
    return BaselineResult(correct / len(split.test), time.process_time() - started)
