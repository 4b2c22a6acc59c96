"""``dubkernels pretrain``, ``train`` and ``export``: the identity-transfer network's life cycle."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from dubkernels.cli.common import add_colour_options, progress_bar, total_setter
from dubkernels.colour import ColourSpaces
from dubkernels.nets.config import PRESETS, load_config
from dubkernels.nets.device import pick_device
from dubkernels.nets.export import export_torchscript
from dubkernels.train.data import FaceClip, PairDataset, load_or_extract
from dubkernels.train.photos import photo_crops
from dubkernels.train.trainer import Trainer, TrainOptions

CLIP_ROLES = {"actor": "actor", "dubber": "dubber", "actor_render": "actor_render", "dubber_render": "dubber_render"}


def _add_training_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", type=Path, help="run folder: checkpoints, loss.jsonl, previews/ (an existing run resumes)")
    p.add_argument("--config", default="preview", help=f"network preset ({', '.join(PRESETS)}) or a JSON config file")
    p.add_argument("--iterations", type=int, help="train to this many iterations (default: the config's)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--workers", type=int, default=2, help="data-loading processes (default 2)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present, else CPU), cpu, cuda, cuda:1...")
    add_colour_options(p)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrain", help="pre-train the encoder and style module on a folder of face photos",
                       description="Reconstruction training on any folder of face photos (CelebA-HQ when you have "
                                   "it). Per-shot training loads only the encoder and style module from it.")
    p.add_argument("--faces", type=Path, required=True, help="folder of face photos (jpg, png, exr)")
    _add_training_options(p)
    p.set_defaults(run=_pretrain)

    p = sub.add_parser("train", help="train the Y-network for one shot (actor and dubber decoders)",
                       description="Per-shot training on the actor plate, the dubber clip and, when given, their "
                                   "PoseAlign renders. Ctrl-C checkpoints; running it again resumes.")
    for role in CLIP_ROLES:
        flag = role.replace("_", "-")
        required = role in ("actor", "dubber")
        p.add_argument(f"--{flag}", required=required, metavar="PATTERN", help=f"{role.replace('_', ' ')} sequence")
        p.add_argument(f"--{flag}-track", required=required, metavar="TRACK", help=f"track of the {role.replace('_', ' ')}")
    p.add_argument("--init", type=Path, help="pre-training checkpoint (encoder + style module are loaded)")
    _add_training_options(p)
    p.set_defaults(run=_train)

    p = sub.add_parser("export", help="export a checkpoint for Nuke's Inference node (TorchScript)",
                       description="Export the inference path (encoder, style module, actor decoder) as TorchScript: "
                                   "one 1xCxHxW tensor in (network space), one out.")
    p.add_argument("checkpoint", type=Path, help="trained checkpoint (.safetensors)")
    p.add_argument("--torchscript", type=Path, required=True, metavar="OUT.pt", help="file to write")
    p.set_defaults(run=_export)


def _run(args: argparse.Namespace, actor, dubber, kind: str, init: Path | None) -> int:  # type: ignore[no-untyped-def]
    config = load_config(args.config)
    options = TrainOptions(args.out, kind, init, args.iterations, args.seed, args.workers, args.device)
    trainer = Trainer(config, PairDataset(actor, dubber, seed=args.seed), options)
    latest = trainer.run()
    print(f"checkpoint: {latest} (iteration {trainer.iteration} of {trainer.total})")
    print(f"loss log: {args.out / 'loss.jsonl'}; previews: {args.out / 'previews'}")
    return 0


def _train(args: argparse.Namespace) -> int:
    pick_device(args.device)  # a bad device fails before the crops are made
    config, colour = load_config(args.config), ColourSpaces(args.ocio)
    values = vars(args)
    clips = [FaceClip(values[r], values[f"{r}_track"], role) for r, role in CLIP_ROLES.items() if values.get(r)]
    sets = []
    for clip in clips:
        with progress_bar(0, f"crops {clip.role}") as bar:
            sets.append(load_or_extract(clip, config.model.resolution, args.out / "crops", colour, bar.update,
                                        total_setter(bar)))
    actor = [s for s in sets if s.role.startswith("actor")]
    dubber = [s for s in sets if s.role.startswith("dubber")]
    return _run(args, actor, dubber, "shot", args.init)


def _pretrain(args: argparse.Namespace) -> int:
    pick_device(args.device)
    config = load_config(args.config)
    with progress_bar(0, "crops faces") as bar:
        faces = photo_crops(args.faces, config.model.resolution, ColourSpaces(args.ocio), bar.update,
                            on_total=total_setter(bar))
    print(f"{len(faces)} faces from {args.faces}")
    return _run(args, [faces], [dataclasses.replace(faces, role="dubber")], "pretrain", None)


def _export(args: argparse.Namespace) -> int:
    export_torchscript(args.checkpoint, args.torchscript)
    print(f"torchscript: {args.torchscript}")
    return 0
