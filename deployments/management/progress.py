"""Progress bars for management commands."""

from typing import Any

from django.core.management.base import OutputWrapper
from tqdm import tqdm


class _Unterminated:
    """A command's stderr for tqdm, which draws with carriage returns: Django's
    OutputWrapper would end every draw with a newline."""

    def __init__(self, wrapper: OutputWrapper):
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")

    def flush(self) -> None:
        self.wrapper.flush()


def progress_bar(stderr: OutputWrapper, *, quiet: bool = False, **options: Any) -> tqdm:
    """A tqdm bar on the command's stderr; `disable=None` keeps it off when stderr is
    not a terminal, `quiet` (verbosity 0) always."""
    return tqdm(file=_Unterminated(stderr), disable=True if quiet else None, **options)
