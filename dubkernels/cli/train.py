"""``dubkernels pretrain`` and ``export``: the identity-transfer network's life cycle outside a shot.

Per-shot training is the ``train`` job kind (see ``dubkernels.cli.jobs``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from dubkernels.cli.common import add_colour_options, add_progress_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrain", help="pre-train the encoder and style module on a folder of face photos",
                       description="Reconstruction training on any folder of face photos (CelebA-HQ when you have "
                                   "it). Per-shot training loads only the encoder and style module from it.")
    p.add_argument("out", type=Path, help="run folder: checkpoints, loss.jsonl, previews/ (an existing run resumes)")
    p.add_argument("--faces", type=Path, required=True, help="folder of face photos (jpg, png, exr)")
    p.add_argument("--config", default="preview", help="network preset (paper, preview) or a JSON config file")
    p.add_argument("--iterations", type=int, help="train to this many iterations (default: the config's)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--workers", type=int, default=2, help="data-loading processes (default 2; 0: in the main process)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present, else CPU), cpu, cuda, cuda:1...")
    add_colour_options(p)
    add_progress_option(p)
    p.set_defaults(run=_pretrain)

    p = sub.add_parser("export", help="export a checkpoint for Nuke's Inference node (TorchScript)",
                       description="Export the inference path (encoder, style module, actor decoder) as TorchScript: "
                                   "one 1xCxHxW tensor in (network space), one out.")
    p.add_argument("checkpoint", type=Path, help="trained checkpoint (.safetensors)")
    p.add_argument("--torchscript", type=Path, required=True, metavar="OUT.pt", help="file to write")
    p.set_defaults(run=_export)


def _pretrain(args: argparse.Namespace) -> int:
    import dataclasses

    from dubkernels.colour import ColourSpaces
    from dubkernels.errors import DubKernelsError, Interrupted
    from dubkernels.jobs.progress import make_progress
    from dubkernels.nets.config import load_config
    from dubkernels.nets.device import pick_device
    from dubkernels.train.datasets import PairDataset
    from dubkernels.train.photos import photo_crops
    from dubkernels.train.trainer import Trainer, TrainOptions

    if args.workers < 0:
        raise DubKernelsError(f"--workers {args.workers} must be 0 or more.")
    pick_device(args.device)
    config = load_config(args.config)
    progress = make_progress(args.progress)
    progress.start("crops faces", None)
    faces = photo_crops(args.faces, config.ynet.resolution, ColourSpaces(args.ocio), progress.callback(),
                        on_total=progress.set_total)
    progress.finish()
    print(f"{len(faces)} faces from {args.faces}")
    options = TrainOptions(args.out, "pretrain", None, args.iterations, args.seed, args.workers, args.device)
    trainer = Trainer(config, PairDataset([faces], [dataclasses.replace(faces, role="dubber")], seed=args.seed),
                      options, progress)
    latest = trainer.run()
    print(f"checkpoint: {latest} (iteration {trainer.iteration} of {trainer.total})")
    print(f"loss log: {args.out / 'loss.jsonl'}; previews: {args.out / 'previews'}")
    if trainer.stopped_by == "signal":
        raise Interrupted(f"pretrain: stopped by a signal at iteration {trainer.iteration}; run it again to resume.")
    return 0


def _export(args: argparse.Namespace) -> int:
    from dubkernels.nets.export import export_torchscript

    export_torchscript(args.checkpoint, args.torchscript)
    print(f"torchscript: {args.torchscript}")
    return 0
