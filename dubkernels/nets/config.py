"""Network and training configurations, read from JSON files (presets ship in dubkernels/configs)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from dubkernels.errors import DubKernelsError

PRESETS = ("paper", "preview", "face_sr_paper", "face_sr_preview")
ARCHES = ("ynet", "face_sr")  # network architectures a config (and a checkpoint) can name


class ConfigError(DubKernelsError):
    """A network configuration is unknown or malformed."""


@dataclass(frozen=True)
class ModelConfig:
    resolution: int
    widths: tuple[int, ...]
    mapping_blocks: int = 3
    adain_blocks: int = 3

    @property
    def embedding(self) -> int:
        """Spatial size of the embeddings eS and eI."""
        return self.resolution // 2 ** (len(self.widths) - 1)


@dataclass(frozen=True)
class SRModelConfig:
    """FaceSR: input crop size (the swapped face's), scale factor, feature channels, residual blocks."""

    resolution: int
    scale: int = 2
    channels: int = 64
    blocks: int = 16

    @property
    def output(self) -> int:
        """Side of the output crop."""
        return self.resolution * self.scale

    def check(self, where: str = "FaceSR") -> None:
        if self.scale not in (2, 4):
            raise ConfigError(f"{where}: scale {self.scale}: choose 2 or 4.")
        if self.channels < 4 or self.blocks < 1 or self.resolution < 8:
            raise ConfigError(f"{where}: FaceSR needs at least 4 channels, 1 block and an 8 px input "
                              f"(got {self.channels}, {self.blocks}, {self.resolution}).")


@dataclass(frozen=True)
class TrainConfig:
    iterations: int = 60000
    batch_size: int = 8
    lr: float = 1e-4
    recon_weight: float = 4.0
    mouth_weight: float = 2.0
    ssim_window: int = 11
    checkpoint_every: int = 2000
    preview_every: int = 500
    patch: int = 0  # FaceSR: train on input patches this wide (half of them on the mouth); 0: whole crops


@dataclass(frozen=True)
class Config:
    name: str
    model: ModelConfig | SRModelConfig
    train: TrainConfig
    arch: str = "ynet"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arch": self.arch, "model": asdict(self.model), "train": asdict(self.train)}

    @property
    def ynet(self) -> ModelConfig:
        """The Y-network's model config (an error for another architecture's config)."""
        if not isinstance(self.model, ModelConfig):
            raise ConfigError(f"config '{self.name}' is a {self.arch} config, not a Y-network one.")
        return self.model

    @property
    def sr(self) -> SRModelConfig:
        """FaceSR's model config (an error for another architecture's config)."""
        if not isinstance(self.model, SRModelConfig):
            raise ConfigError(f"config '{self.name}' is a {self.arch} config, not a FaceSR one.")
        return self.model


def config_from_dict(data: dict[str, Any], where: str = "config") -> Config:
    """Build and check a Config from its JSON form."""
    arch = str(data.get("arch", "ynet"))
    if arch not in ARCHES:
        raise ConfigError(f"{where}: unknown architecture '{arch}'; this version has {', '.join(ARCHES)}.")
    try:
        model = dict(data["model"])
        train = TrainConfig(**data.get("train", {}))
        if arch == "face_sr":
            sr = SRModelConfig(**model)
            sr.check(where)
            return Config(str(data["name"]), sr, train, arch)
        model["widths"] = tuple(int(w) for w in model["widths"])
        config = Config(str(data["name"]), ModelConfig(**model), train, arch)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: malformed network config ({exc!r}).") from exc
    m = config.ynet
    if len(m.widths) < 2 or m.resolution % 2 ** (len(m.widths) - 1) or m.embedding < 1:
        raise ConfigError(f"{where}: resolution {m.resolution} must halve cleanly {len(m.widths) - 1} times.")
    return config


def load_config(name_or_path: str) -> Config:
    """A preset by name ('paper', 'preview') or a JSON config file."""
    if name_or_path in PRESETS:
        text = resources.files("dubkernels.configs").joinpath(f"{name_or_path}.json").read_text()
        return config_from_dict(json.loads(text), name_or_path)
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"config '{name_or_path}' is neither a preset ({', '.join(PRESETS)}) nor a file.")
    try:
        return config_from_dict(json.loads(path.read_text()), str(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}).") from exc
