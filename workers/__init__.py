"""WhereWhen compute side: the attribution engine and everything it stands on.

Importable and testable without Django. Nothing heavy happens at import time: submodules
import torch themselves, so ``import workers`` stays cheap for the web process.
"""
