"""my_module: counts the words of texts. A complete hubserving module in two small files."""

from __future__ import annotations

from hubserving import moduleinfo, serving

from .counting import count_words


@moduleinfo(
    name="my_module",
    version="1.0.0",
    summary="Counts characters and words, and finds the most frequent words",
    author="you",
    author_email="you@example.com",
    type="nlp/text_statistics",
)
class MyModule:
    """``lowercase`` comes from the config's ``init_args``; it is fixed for the server's life."""

    def __init__(self, lowercase: bool = True) -> None:
        self.lowercase = lowercase

    @serving(batch_arg="texts", aliases={"text": "texts"})
    def count(self, texts: list[str], top_k: int = 3) -> list[dict[str, object]]:
        """One result per text: ``{"chars": 11, "words": 2, "top": [["hello", 1], ...]}``."""
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
            raise TypeError('my_module needs "texts": a list of strings')
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
        return [count_words(text, self.lowercase, top_k) for text in texts]
