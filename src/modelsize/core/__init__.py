"""Framework-free data model: tensor records, the component tree, totals, units, errors.

Nothing in this package imports a machine-learning framework; adapters and file readers
translate into these types, and every other part of modelsize reads only these types.
"""
