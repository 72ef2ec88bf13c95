"""Nuclear-physics lab: the AME mass tables, a model of them, and the physics read out of it.

A thin user-facing namespace over the layers: ``data`` (tasks layer), ``model`` (models layer),
``analysis`` (analysis layer) and ``study`` (studies layer); import the one you need::

    from algolens.nuclear import data
    table = data.load(2020)          # one row per nuclide, 3558 rows
"""
