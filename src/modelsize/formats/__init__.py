"""File readers: model files → Report, header-only, never executing anything from the file."""
