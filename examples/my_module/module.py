"""my_module: counts the words of texts. A complete hubserving module in two small files."""

from __future__ import annotations

from hubserving import RequestError, moduleinfo, serving

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

    @serving(batch_arg="texts", aliases={"text": "texts"}, input="text")
    def count(self, texts: list[str], top_k: int = 3) -> list[dict[str, object]]:
        """One result per text: ``{"chars": 11, "words": 2, "top": [["hello", 1], ...]}``.

        The server checks the types from the hints (``texts`` a list of strings, ``top_k`` an integer);
        values it cannot check, the module refuses with ``RequestError`` (a 400 with its message).
        """
        if top_k < 1:
            raise RequestError(f"my_module: top_k must be 1 or more, got {top_k}")
        return [count_words(text, self.lowercase, top_k) for text in texts]
