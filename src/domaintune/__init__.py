"""domaintune: from raw domain documents and instruction data to an evaluated domain LLM."""

__version__ = "0.1.0"
