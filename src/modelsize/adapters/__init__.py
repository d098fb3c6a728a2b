"""Adapters turn live framework objects into a :class:`~modelsize.core.report.Report`.

One module per framework; :mod:`.registry` picks one without importing any framework.
"""
