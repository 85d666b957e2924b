"""Save the trained network as a Paddle Inference model and score it as the server will run it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import paddle
from paddle.static import InputSpec

from .batching import Batch
from .network import SentaBiLSTM

MODEL_PREFIX = "inference"


def export_model(model: SentaBiLSTM, folder: Path) -> list[str]:
    """``paddle.jit.save`` with dynamic batch and length; returns the file names written."""
    model.eval()
    before = set(folder.iterdir()) if folder.exists() else set()
    specs = [InputSpec([None, None], "int64", "ids"), InputSpec([None], "int64", "lengths")]
    paddle.jit.save(model, str(folder / MODEL_PREFIX), input_spec=specs)
    return sorted(path.name for path in set(folder.iterdir()) - before) or sorted(
        path.name for path in folder.glob(f"{MODEL_PREFIX}.*")
    )


def exported_probs(folder: Path, batches: list[Batch]) -> npt.NDArray[np.float32]:
    """Positive-class probabilities of the exported files, run as the module runs them."""
    from paddle import inference

    model_file = next(folder.glob(f"{MODEL_PREFIX}.json"), folder / f"{MODEL_PREFIX}.pdmodel")
    config = inference.Config(str(model_file), str(folder / f"{MODEL_PREFIX}.pdiparams"))
    config.disable_mkldnn()
    config.set_cpu_math_library_num_threads(1)
    config.disable_glog_info()
    predictor = inference.create_predictor(config)
    outputs: list[npt.NDArray[np.float32]] = []
    for batch in batches:
        for name, array in (("ids", batch.ids), ("lengths", batch.lengths)):
            handle = predictor.get_input_handle(name)
            handle.reshape(list(array.shape))
            handle.copy_from_cpu(array)
        predictor.run()
        outputs.append(predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()[:, 1])
    return np.concatenate(outputs)
