"""The attribution methods. Importing this package registers every one of them.

Each module registers its methods with :func:`workers.engine.registry.register`; every method is
a function of a :class:`~workers.engine.run.Run` that returns a
:class:`~workers.engine.registry.MethodOutput`. Helpers that more than one method uses live in
:mod:`workers.engine._utils`, :mod:`workers.engine.attention` and :mod:`workers.engine.grid`,
never in a method's module, so method modules never import each other.

The import order below is the registration order, i.e. the order of
:func:`workers.engine.available_methods` (the platform's catalogue lists methods in it).
"""

from workers.engine.methods import baselines, staa, gradients, perturbation  # noqa: I001

__all__ = ["baselines", "gradients", "perturbation", "staa"]
