"""The one error type kmq raises for anything a user can fix.

Front ends catch :class:`KmqError` and show its message as one line (CLI:
``kmq: error: ...``; app: ``st.error``; GIMP: an error status). Anything else
escaping the core is a bug.
"""


class KmqError(ValueError):
    """A bad input, argument or file, with a message a user can act on."""


class PixelLimitError(KmqError):
    """The image has more pixels than the limit (a possible decompression bomb).

    Each front end says how its user can raise the limit, if it can.
    """


class FrameLimitError(KmqError):
    """The animation has more frames than the limit. Front ends say how to raise it."""


class QualityTooLowError(KmqError):
    """Even the most colours allowed miss the minimum quality asked for.

    pngquant's ``QUALITY_TOO_LOW`` (its exit status 99, which kmq's command uses too).
    ``result`` holds the best quantization that was reached, for callers that
    want to write it anyway; ``quality`` its quality on the 0-100 scale.
    """

    def __init__(self, message: str, result=None, quality: float | None = None):
        super().__init__(message)
        self.result = result
        self.quality = quality


class OutputExistsError(KmqError):
    """An output file exists and overwriting was not asked for (``force=True``).

    Front ends word the fix their own way (the command line says ``--force``).
    """

    def __init__(self, message: str, path=None):
        super().__init__(message)
        self.path = path


class WriteError(KmqError):
    """An output could not be written: its folder is missing, it names a folder, no permission,
    a full disk. Front ends that report writing apart from reading (``kmq-pngquant``'s exit
    status 16, as pngquant's) tell it by this class."""
