"""User-facing errors.

Every error a user can cause (bad path, corrupt frame, no face...) is a
:class:`DubKernelsError` whose message names the file or frame and the fix.
The CLI prints these without a traceback and exits with :data:`EXIT_USER_ERROR`.
"""

EXIT_USER_ERROR = 2


class DubKernelsError(Exception):
    """Base class of errors caused by input, not by a bug."""


class FrameError(DubKernelsError):
    """A frame file is missing, unreadable, or holds unusable pixels."""


class SequenceError(DubKernelsError):
    """A frame pattern or frame range is malformed or frames are missing."""


class ColourError(DubKernelsError):
    """An OCIO config or colourspace name cannot be used."""


class FaceError(DubKernelsError):
    """Face analysis failed: no face, too long a gap, no models."""


class TrackError(DubKernelsError):
    """A track or overrides file is missing, malformed or does not fit the plate."""


class VideoError(DubKernelsError):
    """A video file cannot be decoded."""


class Interrupted(DubKernelsError):
    """Long work stopped by a signal before it finished (its progress was saved); exits non-zero."""
