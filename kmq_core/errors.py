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
