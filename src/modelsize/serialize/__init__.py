"""Exact serialized size per format, computed without writing files; compressibility."""
