"""The ``modelsize`` command line: the only part of modelsize that prints or exits.

``app.py`` builds the typer app and loads each verb's module only when that verb is used,
so ``modelsize --help`` imports no machine-learning framework. ``output.py`` is the one
output sink (stdout carries data only), ``errors.py`` the one error → exit-code map.
"""
