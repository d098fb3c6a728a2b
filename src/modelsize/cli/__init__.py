"""The ``modelsize`` command line: the only part of modelsize that prints or exits.

``app.py`` is the one parser's command group (click, options declared once in ``params.py``
terms); it loads each verb's module only when that verb is used,
so ``modelsize --help`` imports no machine-learning framework. ``output.py`` is the one
output sink (stdout carries data only), ``errors.py`` the one error → exit-code map.
"""
