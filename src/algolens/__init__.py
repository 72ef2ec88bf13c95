"""algolens: train small networks on tasks with known answers, then read out what they learned."""

__version__ = "0.1.0"
