"""The Open Inference Protocol (KServe V2) over HTTP and gRPC, and the OpenAPI document.

Both faces turn a V2 request into the same JSON body that ``POST /predict/<module>`` sends to the
predictor (``codec.py`` holds the one mapping rule), so they share its batching, limits and metrics.
"""
