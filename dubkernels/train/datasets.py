"""Torch datasets of the training runs, their augmentation and their epoch-seeded sampling.

A :class:`PairDataset` draws actor-side and dubber-side crops (prepared by
:mod:`dubkernels.train.prepare`) independently, with light augmentation that is
deterministic given (seed, epoch, index) so a resumed run reproduces.

Example:
    >>> dataset = PairDataset([actor], [dubber], seed=0)   # CropSets from prepare.load_or_extract
    >>> loader = make_loader(dataset, batch_size=8, workers=4, seed=0)
    >>> dataset.set_epoch(0); batch = next(iter(loader))   # batch["actor"]: (8, 3, 256, 256)
"""
from __future__ import annotations

from typing import Iterator, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from dubkernels.errors import DubKernelsError
from dubkernels.train.prepare import ACTOR_ROLES, DUBBER_ROLES, CropSet

# Augmentation ranges (uniform, symmetric).
JITTER_DEGREES = 3.0
JITTER_SCALE = 0.03
JITTER_SHIFT = 0.03  # fraction of the crop size
JITTER_BRIGHTNESS = 0.05
JITTER_CONTRAST = 0.05
_PERMUTATION_STREAM = 1  # keeps the dubber permutation's seeds apart from the augmentation's
PREFETCH_BATCHES = 4  # per worker


def _stack(sets: Sequence[CropSet], roles: tuple[str, ...], side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate one side's crop sets, checking roles and sizes."""
    if not sets or not sum(len(s) for s in sets):
        raise DubKernelsError(f"no {side} crops to train on; give at least one {side} clip with faces.")
    for s in sets:
        if s.role not in roles:
            raise DubKernelsError(f"a {s.role!r} crop set cannot be on the {side} side (roles {', '.join(roles)}).")
    sizes = {s.size for s in sets}
    if len(sizes) > 1:
        raise DubKernelsError(f"{side} crop sets have different sizes {sorted(sizes)}; extract them at one size.")
    return (np.concatenate([s.images for s in sets]), np.concatenate([s.face_masks for s in sets]),
            np.concatenate([s.mouth_masks for s in sets]))


def _seed(*numbers: int) -> int:
    """A 63-bit seed mixed from non-negative integers."""
    return int(np.random.SeedSequence(list(numbers)).generate_state(2, np.uint64)[0] >> np.uint64(1))


def _jitter_matrix(rng: np.random.Generator, size: int) -> np.ndarray:
    """A small random similarity about the crop centre (2x3)."""
    angle = rng.uniform(-JITTER_DEGREES, JITTER_DEGREES)
    scale = 1.0 + rng.uniform(-JITTER_SCALE, JITTER_SCALE)
    matrix = np.asarray(cv2.getRotationMatrix2D((size / 2.0, size / 2.0), angle, scale), np.float64)
    matrix[:, 2] = matrix[:, 2] + rng.uniform(-JITTER_SHIFT, JITTER_SHIFT, 2) * size
    return matrix


def _augment(image: np.ndarray, masks: list[np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """The same similarity jitter on the image and its masks, then brightness/contrast on the image (float 0..1)."""
    size = image.shape[0]
    matrix = _jitter_matrix(rng, size)
    warped = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    moved = [cv2.warpAffine(m, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
             for m in masks]
    gain = 1.0 + rng.uniform(-JITTER_BRIGHTNESS, JITTER_BRIGHTNESS)
    contrast = 1.0 + rng.uniform(-JITTER_CONTRAST, JITTER_CONTRAST)
    rgb = warped.astype(np.float32) / 255.0
    rgb = np.clip((rgb * gain - 0.5) * contrast + 0.5, 0.0, 1.0)
    return rgb, [m.astype(np.float32) / 255.0 for m in moved]


def chw(array: np.ndarray) -> torch.Tensor:
    """(H,W,C) or (H,W) float32 -> contiguous (C,H,W) tensor."""
    if array.ndim == 2:
        array = array[..., None]
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32))


class EpochDataset(Dataset):
    """A training dataset whose samples depend on (seed, epoch, index) only, so a resumed run repeats them.

    The epoch lives in shared memory, so :meth:`set_epoch` reaches persistent DataLoader workers too.
    """

    def __init__(self, seed: int = 0):
        self.seed = seed
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's order and augmentation (call before iterating a loader)."""
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        self._epoch.fill_(epoch)


class PairDataset(EpochDataset):
    """Independent actor-side and dubber-side samples for the Y-network.

    Item ``i`` holds actor sample ``i % n_actor`` and dubber sample
    ``perm[i % n_dubber]``, ``perm`` a permutation seeded by (seed, epoch).
    Keys: ``actor``/``dubber`` (3,S,S) and ``*_face_mask``/``*_mouth_mask``
    (1,S,S), float32 in 0..1.
    """

    def __init__(self, actor: Sequence[CropSet], dubber: Sequence[CropSet], seed: int = 0, augment: bool = True):
        super().__init__(seed)
        self.actor = _stack(actor, ACTOR_ROLES, "actor")
        self.dubber = _stack(dubber, DUBBER_ROLES, "dubber")
        if self.actor[0].shape[1] != self.dubber[0].shape[1]:
            raise DubKernelsError(f"actor crops are {self.actor[0].shape[1]} px but dubber crops "
                                  f"{self.dubber[0].shape[1]} px; extract both sides at one size.")
        self.augment = augment
        self._permutation: tuple[int, torch.Tensor] | None = None

    def __len__(self) -> int:
        return max(len(self.actor[0]), len(self.dubber[0]))

    def dubber_permutation(self) -> torch.Tensor:
        """This epoch's order of dubber samples."""
        epoch = self.epoch
        if self._permutation is None or self._permutation[0] != epoch:
            generator = torch.Generator().manual_seed(_seed(self.seed, epoch, _PERMUTATION_STREAM))
            self._permutation = (epoch, torch.randperm(len(self.dubber[0]), generator=generator))
        return self._permutation[1]

    def _sample(self, side: tuple[np.ndarray, np.ndarray, np.ndarray], j: int, name: str,
                rng: np.random.Generator) -> dict[str, torch.Tensor]:
        image, face, mouth = (a[j] for a in side)
        if self.augment:
            rgb, (face_f, mouth_f) = _augment(image, [face, mouth], rng)
        else:
            rgb, face_f, mouth_f = (a.astype(np.float32) / 255.0 for a in (image, face, mouth))
        return {name: chw(rgb), f"{name}_face_mask": chw(face_f), f"{name}_mouth_mask": chw(mouth_f)}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range 0..{len(self) - 1}")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        actor = self._sample(self.actor, index % len(self.actor[0]), "actor", rng)
        dubber_index = int(self.dubber_permutation()[index % len(self.dubber[0])])
        return actor | self._sample(self.dubber, dubber_index, "dubber", rng)


class EpochShuffle(Sampler[int]):
    """A shuffle whose order depends only on (seed, the dataset's epoch), so a resumed run repeats it."""

    def __init__(self, dataset: EpochDataset, seed: int):
        self.dataset, self.seed = dataset, seed
        self.start = 0  # position in the epoch's order to start from (resuming mid-epoch)

    def __len__(self) -> int:
        return len(self.dataset) - self.start

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(_seed(self.seed, self.dataset.epoch))
        return iter(torch.randperm(len(self.dataset), generator=generator).tolist()[self.start :])


def make_loader(dataset: EpochDataset, batch_size: int, workers: int, seed: int) -> DataLoader[dict[str, torch.Tensor]]:
    """Shuffled batches (order seeded by (seed, epoch)), last partial batch dropped; call ``set_epoch`` per epoch.

    Workers are forked (crops shared copy-on-write). Never call ``cv2.setNumThreads``
    in a forked worker: it deadlocks on the thread pool inherited from the parent.
    """
    if len(dataset) < batch_size:
        raise DubKernelsError(f"{len(dataset)} training samples make no batch of {batch_size}; "
                              "lower the batch size or add frames.")
    parallel = workers > 0
    return DataLoader(
        dataset, batch_size=batch_size, sampler=EpochShuffle(dataset, seed), num_workers=workers,
        pin_memory=torch.cuda.is_available(), drop_last=True, persistent_workers=parallel,
        prefetch_factor=PREFETCH_BATCHES if parallel else None,
    )
