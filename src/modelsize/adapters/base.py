"""The contract every adapter (live objects) fulfils."""

from __future__ import annotations

from typing import Any, Protocol

from ..core.report import Report
from ..serialize.base import FormatSize


class Adapter(Protocol):
    """Turns one framework's objects into reports.

    ``can_handle`` must not import the framework: if the framework's module is not already in
    ``sys.modules`` the object cannot belong to it (see :func:`modelsize.core.optional.loaded`).
    """

    name: str

    def can_handle(self, obj: Any) -> bool: ...

    def to_report(self, obj: Any, target: str | None = None) -> Report: ...

    def format_sizes(self, obj: Any, compression: "CompressionOptions") -> list[FormatSize]: ...


from ..serialize.base import CompressionOptions  # noqa: E402  (for the annotation above)
