"""Alert rules: conditions over the analysis figures, evaluated without ``eval``."""
